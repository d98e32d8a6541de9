"""Where people live: street address (tier B), and postal code, city, region, country (tier C).

Street addresses are recognised by a house number next to a street-type word from any locale ("Loop",
"Straße", "rue", "丁目"); the quasi-identifiers by dictionaries (Faker's city, region and country lists) or,
for postal codes, only under a name hint or in a format no other data shares (UK, Canada, Netherlands...).
"""

from __future__ import annotations

import re

from .. import lexicon
from ..base import Detector, estimate, hints
from ..registry import register
from ..sample import GATES, Sample

_STREET_END = re.compile(r"(stra(ss|ß)e|str\.?|weg|gasse|laan|straat|gracht|gatan|vägen|vej|gade|veien|katu|"
                         r"tie|polku|utca|allee|platz|ring|damm|steig|boulevard|plein|singel|kade|dreef|vei)$")
_CJK_ADDRESS = re.compile(r"[丁番号路街道区市町村巷弄]")


def address_like(tokens: list[str], raw: str) -> bool:
    """A number and a street-type word, or a CJK address marker with a number."""
    if not any(c.isdigit() for c in raw) or len(tokens) > 10:
        return False  # no house number, or prose rather than an address line
    if _CJK_ADDRESS.search(raw):
        return True
    words = lexicon.street_words()
    for t in tokens:
        t = t.replace(".", "").strip(",")
        if t in words or (len(t) > 4 and _STREET_END.search(t)):
            return True
        # Compounds: "Skogstorget", "Amundsenholtet" end with a street word of three letters or more.
        if len(t) > 5 and any(t[-k:] in words for k in range(3, min(len(t) - 1, 12))):
            return True
    return False


@register
class StreetAddress(Detector):
    """A street address line: house number plus a street-type word in any of Faker's locales."""

    name = "street_address"
    entity = "street_address"
    tier = "B"
    name_hints = hints("(street_?)?addr(ess)?(_?line)?_?[0-9]?_", "address_?[0-9]", "street", "strasse",
                       "adresse", "direccion", "domicilio", "indirizzo", "endereco", "adres_", "adresa",
                       "osoite", "calle", "billing_?address", "shipping_?address", "ship_?address", "residence")
    negative_hints = hints(r"\w*(e_?mail|ip|mac|web|url|wallet|memory|hw)_?addr(ess)?")
    gate = "spaced"
    min_share = 0.6
    min_share_hinted = 0.3
    score = 0.85
    hint_bonus = 0.1
    hint_only = 0.5

    patterns = ("[0-9]",)

    def confirm(self, value: str) -> bool:
        return address_like(value.lower().split(), value)

    def assess(self, column, sample):
        finding = super().assess(column, sample)
        if finding is None and sample.kind == "text" and sample.total and self.hinted(column):
            # Named as an address: house-number-and-words lines count even without a known street word.
            share = sample.share(sample.regex(r"[0-9]") & sample.mask("spaced"))
            if share >= 0.6:
                return self._finding(column, True, share, 0.6, round(0.6 + 0.2 * share, 3), sample.total)
        return finding


class _Dictionary(Detector):
    """Quasi-identifier matched against a word list; under a name hint a lower share suffices."""

    tier = "C"
    gate = "wordy"
    min_share = 0.6
    min_share_hinted = 0.3
    score = 0.8
    hint_bonus = 0.15
    hint_only = 0.4

    patterns = (GATES["wordy"],)

    def words(self) -> frozenset[str]:
        raise NotImplementedError

    def confirm(self, value: str) -> bool:
        return value.lower() in self.words()

    def measure(self, sample: Sample, hint: bool = False, threshold: float = 0.0) -> float:
        """Set look-ups over all distinct values cost less than confirming a capped subset one by one."""
        if hint and type(self).confirm_hinted is not _Dictionary.confirm_hinted:
            return super().measure(sample, hint, threshold)
        words, lower = self.words(), sample.lower
        return estimate(sample, self.candidates(sample, hint), lambda i: lower[i] in words, threshold, cap=1000)


@register
class City(_Dictionary):
    """A city or town name (Faker's city lists of every locale); under a name hint, any place-like word."""

    name = "city"
    entity = "city"
    name_hints = hints("city", "town", "ciudad", "stadt_", "ville", "citta", "cidade", "localidad", "locality",
                       "municipality", "gemeente", "miasto", "kaupunki", "ort_", "wohnort", "poblacion",
                       "territory_?desc")
    negative_hints = hints(r"\w*(id|code|count|population|size)_")

    def words(self) -> frozenset[str]:
        return lexicon.cities()

    def patterns_for(self, hint: bool) -> tuple[str, ...]:
        # Under a hint, any short text without digits or punctuation: "So Paulo", "Port Steve", "川崎市".
        return (r"^[^0-9@,;:/()]{2,60}$",) if hint else self.patterns

    def confirm_hinted(self, value: str) -> bool:
        return True


@register
class Country(_Dictionary):
    """A country or nationality: names in Faker's country lists, or ISO 3166 codes under a name hint."""

    name = "country"
    entity = "country"
    name_hints = hints("country", "nationality", "citizenship", "land_", "pais", "pays", "paese", "staat_",
                       "nation", "herkunft", "kraj", "maa_", "nationalite", "nacionalidad")
    negative_hints = hints(r"\w*(id|count)_", "country_?code_?id")
    min_share = 0.7

    def words(self) -> frozenset[str]:
        return lexicon.countries()

    def confirm_hinted(self, value: str) -> bool:
        lower = value.lower()
        return lower in self.words() or (len(lower) <= 3 and lower in lexicon.country_codes())


@register
class Region(_Dictionary):
    """A state, province, region or district (Faker's lists: names and abbreviations), under a name hint."""

    name = "region"
    entity = "region"
    name_hints = hints("state_", "state_?(name|abbr|code)", "province", "provincia", "region", "district",
                       "county", "bundesland", "departement", "prefecture", "estado_", "canton", "oblast",
                       "voivodeship", "wojewodztwo")
    negative_hints = hints(r"\w*(id|status|machine|flow)_")
    requires_hint = True
    min_share_hinted = 0.4

    def words(self) -> frozenset[str]:
        return lexicon.regions() | lexicon.cities()

    def measure(self, sample: Sample, hint: bool = False, threshold: float = 0.0) -> float:
        """Dictionary share; failing that, place-like text, but only with many distinct values: a column
        of four ("Eastern", "Western", ...) is a sales region, not where somebody lives."""
        share = super().measure(sample, hint, threshold)
        if share >= self.min_share_hinted or len(sample.values) < 20:
            return share
        return sample.share(sample.regex(r"^[^0-9@,;:/()]{2,60}$"))


_POSTCODE_FORMATS = (
    r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$",  # United Kingdom
    r"^[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]$",  # Canada
    r"^[1-9][0-9]{3} ?[A-Z]{2}$",  # Netherlands
    r"^[0-9]{2}-[0-9]{3}$",  # Poland
    r"^[0-9]{5}-[0-9]{3}$",  # Brazil
    r"^[0-9]{4}-[0-9]{3}$",  # Portugal
    r"^[0-9]{3} [0-9]{2}$",  # Sweden, Czechia, Slovakia, Greece
)


@register
class PostalCode(Detector):
    """A postal code: under a name hint any short code with digits; without one, only formats no other data
    shares (United Kingdom, Canada, Netherlands, Poland, Brazil, Portugal, Sweden)."""

    name = "postal_code"
    entity = "postal_code"
    tier = "C"
    name_hints = hints("zip", "postal", "post_?code", "postcode", "plz_", "postleitzahl", "codigo_?postal",
                       "code_?postal", "cap_", "cp_", "cep_", "pin_?code", "postnummer", "postinumero",
                       "kod_?pocztowy", "eircode")
    min_share = 0.8
    min_share_hinted = 0.7
    score = 0.8
    hint_bonus = 0.15
    hint_only = 0.4

    patterns = ("|".join(_POSTCODE_FORMATS),)

    def patterns_for(self, hint: bool) -> tuple[str, ...]:
        return (r"^[A-Za-z0-9 \-]*[0-9][A-Za-z0-9 \-]*$",) if hint else self.patterns

    def confirm_hinted(self, value: str) -> bool:
        return 2 <= len(value) <= 10
