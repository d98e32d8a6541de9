"""Word lists the dictionary detectors match against, read from Faker's locale data (all locales).

Faker is already a dependency and its providers cite their sources per locale, so the lists stay one source
of truth: the names we detect are the names Faker generates, in every alphabet it knows. Everything is
lower-cased, built on first use (about 0.2 s) and cached for the process.
"""

from __future__ import annotations

import importlib
import re
from functools import cache

from faker.config import AVAILABLE_LOCALES
from faker.decode import unidecode

# Every list a locale keeps its names in: first_names_female, first_romanized_names, unisex_last_names, ...
FIRST = re.compile(r"^first_\w*names\w*$")
LAST = re.compile(r"^(\w+_)?last_\w*names\w*$")
PREFIXES = ("prefixes", "prefixes_male", "prefixes_female", "prefixes_nonbinary", "suffixes", "suffixes_male",
            "suffixes_female", "suffixes_nonbinary")
REGIONS = ("states", "states_abbr", "provinces", "provinces_abbr", "regions", "administrative_units",
           "departments", "prefectures", "province_abbrs", "states_normalized", "districts", "counties",
           "municipalities", "land")


def _strings(value: object) -> list[str]:
    """A provider attribute as strings: tuples/lists/dicts of str, (code, name) pairs flattened."""
    if isinstance(value, dict):
        value = list(value.keys())
    if not isinstance(value, list | tuple | set | frozenset):
        return []
    out: list[str] = []
    for item in value:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, tuple):
            out.extend(x for x in item if isinstance(x, str))
    return out


def _collect(provider: str, attributes: tuple[str, ...] | re.Pattern[str]) -> frozenset[str]:
    """Lower-cased strings of the named attributes (or of every attribute matching a pattern), all locales."""
    words: set[str] = set()
    for locale in ["", *AVAILABLE_LOCALES]:
        module = f"faker.providers.{provider}" + (f".{locale}" if locale else "")
        try:
            cls = importlib.import_module(module).Provider
        except (ImportError, AttributeError):
            continue
        names = attributes if isinstance(attributes, tuple) else [a for a in dir(cls) if attributes.match(a)]
        for attribute in names:
            words.update(w.strip().lower() for w in _strings(getattr(cls, attribute, ())))
    words.discard("")
    return frozenset(words)


@cache
def first_names() -> frozenset[str]:
    return _collect("person", FIRST)


@cache
def last_names() -> frozenset[str]:
    return _collect("person", LAST)


@cache
def ascii_names() -> frozenset[str]:
    """First and last names transliterated to ASCII, as Faker and most sites build user names from them."""
    return frozenset(unidecode(n).lower() for n in first_names() | last_names())


@cache
def person_affixes() -> frozenset[str]:
    """Titles and suffixes ("dr", "prof", "mba", "jr"), dots removed, to skip when reading a full name."""
    return frozenset(w.replace(".", "") for w in _collect("person", PREFIXES)) | {"mr", "mrs", "ms", "dr"}


@cache
def cities() -> frozenset[str]:
    return _collect("address", ("cities", "city_names", "big_cities", "municipalities"))


@cache
def countries() -> frozenset[str]:
    return _collect("address", ("countries", "countries_ar", "country_names"))


@cache
def country_codes() -> frozenset[str]:
    return _collect("address", ("alpha_2_country_codes", "alpha_3_country_codes"))


@cache
def regions() -> frozenset[str]:
    return _collect("address", REGIONS)


@cache
def street_words() -> frozenset[str]:
    """Street-type words ("street", "rue", "calle", "straße"), dots removed; only one- or two-word entries."""
    words = _collect("address", ("street_suffixes", "street_prefixes", "street_types", "street_prefixes_short",
                                 "street_prefixes_long", "street_suffixes_long", "street_suffixes_short"))
    return frozenset(w.replace(".", "") for w in words if len(w.split()) <= 2) | EXTRA_STREET_WORDS


@cache
def jobs() -> frozenset[str]:
    return _collect("job", ("jobs", "jobs_male", "jobs_female"))


@cache
def company_suffixes() -> frozenset[str]:
    return frozenset(w.replace(".", "").strip() for w in _collect("company", ("company_suffixes",))) - {""}


@cache
def common_words() -> frozenset[str]:
    """Ordinary words in many languages (Faker's lorem lists), never to be read as a person's name."""
    return _collect("lorem", ("word_list", "common_words", "parts_of_speech")) | ENGLISH_STOP


def warm() -> None:
    """Build every list now (about a second), so that the first scanned column does not pay for it."""
    for build in (first_names, last_names, ascii_names, person_affixes, cities, countries, country_codes,
                  regions, street_words, jobs, company_suffixes, common_words):
        build()


def words(text: str) -> frozenset[str]:
    """A word list written as one whitespace-separated string (easier to read and diff than a literal)."""
    return frozenset(text.split())


# Abbreviations Faker's lists spell out but real data abbreviates (cited: USPS Pub. 28 C1, common EU forms).
EXTRA_STREET_WORDS = frozenset({
    "st", "ave", "av", "avda", "rd", "dr", "ln", "blvd", "ct", "pl", "hwy", "pkwy", "sq", "ter", "cir", "way",
    "loop", "road", "lane", "street", "avenue", "str", "strasse", "straße", "rue", "calle", "via", "rua",
    "viale", "piazza", "allee", "weg", "gasse", "platz", "laan", "straat", "plein", "gatan", "vägen", "vej",
    "gade", "katu", "tie", "utca", "ul", "ulica", "al", "aleja", "box", "po", "apt", "suite", "nw", "sw", "ne",
    "se", "chaussée", "boulevard", "bd", "quai", "carrer", "paseo", "praça", "travessa", "avenida",
})

# Sentence words that are also given names somewhere ("will", "may", "art", "mad"): never a name in prose.
ENGLISH_STOP = words("""
a an and are as at be by for from has have he her his i in is it its of on or she that the their they this to
was were who will with may can art mad grace hope joy faith june april august page love
major story star drama epic boat car dog cat moose monkey teacher student girl boy man woman
""")
