"""Date of birth (tier B); gender, age, job and organisation (tier C quasi-identifiers).

Ages and birth dates are plain numbers and dates: nothing in the values alone says whose, so these need a
name hint *and* values in a plausible range.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pyarrow.compute as pc

from .. import lexicon
from ..base import Detector, estimate, hints
from ..lexicon import words
from ..registry import register
from ..sample import GATES, Sample


@register
class DateOfBirth(Detector):
    """A birth date: a date column named like one, its values between 1900 and today."""

    name = "date_of_birth"
    entity = "date_of_birth"
    tier = "B"
    name_hints = hints("birth", "dob_", "born", "b_?day", "geburt", "nacimiento", "naissance", "nascita",
                       "nascimento", "geboorte", "urodzenia", "fodsel", "syntyma", "date_?of_?b")
    kinds = frozenset({"date"})
    requires_hint = True
    min_share_hinted = 0.9
    score = 0.85
    hint_only = 0.6

    def passes(self, sample: Sample, hint: bool = False) -> np.ndarray:
        years = pc.year(sample.values).to_numpy(zero_copy_only=False)
        return (years >= 1900) & (years <= dt.date.today().year)


@register
class Age(Detector):
    """An age in years: an integer column named like one, its values between 0 and 120."""

    name = "age"
    entity = "age"
    tier = "C"
    name_hints = hints("age_", "ages_", "age_?years", "edad", "alter_", "eta_", "idade", "leeftijd", "wiek",
                       "alder", "alder_", "ika_", "age_?at")
    kinds = frozenset({"int", "float"})
    requires_hint = True
    min_share_hinted = 0.95
    score = 0.8

    def passes(self, sample: Sample, hint: bool = False) -> np.ndarray:
        values = pc.cast(sample.values, "float64").to_numpy(zero_copy_only=False)
        return (values >= 0) & (values <= 120)


GENDER_WORDS = words("""
m f male female man woman men women w d x u o nb non-binary nonbinary other diverse divers unknown
mann frau männlich weiblich homme femme masculin féminin hombre mujer masculino femenino maschio femmina
uomo donna man vrouw mężczyzna kobieta mies nainen kvinna mand kvinde mann kvinne erkek kad\u0131n
mr mrs ms miss mx herr sr sra srta mme mlle m. mr. mrs. ms. dr dr. prof sir madam
""")


@register
class Gender(Detector):
    """A gender, sex or gendered salutation ("F", "female", "Frau", "Mrs.") under a name hint."""

    name = "gender"
    entity = "gender"
    tier = "C"
    name_hints = hints("gender", "sex_", "sexe", "sexo", "geschlecht", "genero", "genre_", "salutation",
                       "courtesy", "anrede", "honorific", "title_?of_?courtesy", "civilite", "tratamiento",
                       "sukupuoli", "kon_", "plec")
    requires_hint = True
    min_share_hinted = 0.9
    score = 0.85

    def passes(self, sample: Sample, hint: bool = False) -> np.ndarray:
        lower = sample.lower
        return np.array([v.rstrip(".") in GENDER_WORDS or v in GENDER_WORDS for v in lower], dtype=bool)


JOB_WORDS = words("""
manager director engineer assistant representative rep agent owner accountant clerk officer analyst consultant
coordinator administrator president vice staff executive developer designer technician nurse teacher
lawyer doctor physician scientist specialist supervisor lead head chief ceo cfo cto coo secretary sales
marketing buyer purchasing architect programmer operator editor writer journalist librarian pharmacist
therapist surgeon dentist electrician plumber mechanic driver chef cook cashier receptionist advisor
adviser auditor controller inspector instructor lecturer professor researcher planner producer broker
trader banker counsel associate partner intern trainee worker labourer laborer farmer guard officer
""")


@register
class Job(Detector):
    """A job title: a value in Faker's job lists (all locales), or job words under a name hint."""

    name = "job"
    entity = "job"
    tier = "C"
    name_hints = hints("job", "occupation", "profession", "position_", "(job|contact|work)_?title", "title_",
                       "role_", "beruf", "puesto", "ocupacion", "metier", "emploi", "professione", "cargo",
                       "functie", "beroep", "stanowisko", "ammatti", "yrke", "designation")
    negative_hints = hints(r"\w*(id|code|count)_", "title_?of_?courtesy")
    min_share = 0.6
    min_share_hinted = 0.5
    score = 0.8
    hint_bonus = 0.15

    def confirm(self, value: str) -> bool:
        return value.lower() in lexicon.jobs()

    def measure(self, sample: Sample, hint: bool = False, threshold: float = 0.0) -> float:
        if hint:
            return super().measure(sample, hint, threshold)
        jobs, lower = lexicon.jobs(), sample.lower  # plain set look-ups: cheap enough for every value
        return estimate(sample, np.ones(len(lower), dtype=bool), lambda i: lower[i] in jobs, threshold, cap=1000)

    def confirm_hinted(self, value: str) -> bool:
        lower = value.lower()
        if lower in lexicon.jobs():
            return True
        words = [w.strip(".,;:()") for w in lower.split()]
        return 0 < len(words) <= 6 and any(w in JOB_WORDS for w in words)


_PARTNERS = re.compile(r"\s*(?:,|-|&| and | und | et | y | e | en | och | i )\s*")
_FAMILY_WORDS = frozenset({"fils", "filhos", "hijos", "figli", "sons", "söhne", "zonen", "sønner", "partners"})


@register
class Organisation(Detector):
    """A company or organisation: a legal-form suffix from Faker's lists ("GmbH", "S.A.", "LLC"), partner
    lists of family names ("Smith, Jones and Brown"), or any name under a name hint."""

    name = "organisation"
    entity = "organisation"
    tier = "C"
    name_hints = hints("company", "organi[sz]ation", "org_?name", "employer", "firma", "empresa", "societe",
                       "entreprise", "unternehmen", "business_?name", "azienda", "bedrijf", "firm_",
                       "corporation", "ship_?name", "institution", "yritys", "foretag")
    negative_hints = hints(r"\w*(id|code|count|size|type)_")
    gate = "wordy"
    min_share = 0.5
    min_share_hinted = 0.3
    score = 0.75
    hint_bonus = 0.2
    hint_only = 0.4

    patterns = (GATES["wordy"],)

    def confirm(self, value: str) -> bool:
        lower = value.lower()
        words = [t.strip(".,;:()\"'").replace(".", "") for t in lower.split()]
        tail = {" ".join(words[-k:]) for k in (1, 2, 3) if len(words) >= k}
        if tail & lexicon.company_suffixes():
            return True
        # Partnerships of family names: "Smith, Jones and Brown", "Moen-Aas", "Michel et Fils".
        parts = [p for p in _PARTNERS.split(lower) if p]
        return 2 <= len(parts) <= 4 and _PARTNERS.search(lower) is not None and all(
            p in lexicon.last_names() or p in _FAMILY_WORDS for p in parts)

    def confirm_hinted(self, value: str) -> bool:
        return any(c.isalpha() for c in value)
