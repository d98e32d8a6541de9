"""PII recognizers for free text (used by scrub): a pattern per entity, confirmed by a checksum.

As in Presidio, each recognizer is data: an entity, a regex (written to run both in RE2, for the
vectorized prefilter, and in Python's re, for spans), and a confirm step that drops look-alikes
(Luhn for cards, mod-97 for IBANs, issued ranges for SSNs, ipaddress for IPs, digit counts for
phones). Person names come from Faker's first/last name lists across Latin-script locales.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

from ._digits import luhn_valid

NAME_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "sv_SE")
TITLES = {"Mr", "Mrs", "Ms", "Miss", "Dr", "Prof", "Herr", "Frau", "Mme", "Mlle", "Sr", "Sra"}
# capitalised words that are names in the lists but usually ordinary words at a sentence start
NOT_NAMES = {"May", "June", "August", "April", "Will", "Mark", "Bill", "Grace", "Hope", "Joy", "Faith",
             "Rose", "Page", "Chance", "Hunter", "Dean", "Major", "Summer", "Love", "Case", "Price", "Long",
             "Young", "Hall", "King", "Ray", "Art", "Sunny", "Sky", "Story", "Angel", "Golden", "Christian",
             "Royal", "Ever", "Dale", "Van", "Von", "Le", "La", "De", "Del", "Di", "Da", "Die", "Der", "Das",
             "Un", "Une", "Per", "Can", "Do", "Son", "Man", "See", "Tag", "Max", "Ma", "Amazon", "Paris"}


def _iban_ok(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ssn_ok(text: str) -> bool:
    area, group, serial = text.split("-")
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _ip_ok(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _phone_ok(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return 7 <= digits <= 15 and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)


@dataclass(frozen=True)
class Recognizer:
    entity: str
    pattern: str
    confirm: Callable[[str], bool] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        return _compile(self.pattern)


RECOGNIZERS = (  # in priority order: an earlier entity wins an overlap
    Recognizer("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    Recognizer("IBAN", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", _iban_ok),
    Recognizer("CARD", r"\b\d(?:[ -]?\d){12,18}\b", luhn_valid),
    Recognizer("SSN", r"\b\d{3}-\d{2}-\d{4}\b", _ssn_ok),
    Recognizer("IP", r"\b(?:\d{1,3}\.){3}\d{1,3}\b", _ip_ok),
    Recognizer("IP", r"(?:[0-9A-Fa-f]{1,4}:){1,7}:?(?::?[0-9A-Fa-f]{1,4}){1,7}|::1\b", _ip_ok),
    Recognizer("PHONE", r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){1,4}\b", _phone_ok),
)
PREFILTER = "|".join(f"(?:{r.pattern})" for r in RECOGNIZERS)
WORD = re.compile(r"\b[A-ZÀ-Þ][a-zß-ÿ]+(?:-[A-ZÀ-Þ][a-zß-ÿ]+)?\b")


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names) from Faker's person providers of NAME_LOCALES."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr, into in (("first_names", first), ("first_names_male", first), ("first_names_female", first),
                           ("last_names", last)):
            into.update(n for n in getattr(provider, attr, ()) if n[:1].isupper() and " " not in n)
    return frozenset(first - NOT_NAMES), frozenset(last - NOT_NAMES)


def find_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, entity) of the PII spans in text, without overlaps, in text order."""
    spans: list[tuple[int, int, str]] = []
    taken = bytearray(len(text))
    for recognizer in RECOGNIZERS:
        for m in recognizer.compiled.finditer(text):
            a, b = m.span()
            if any(taken[a:b]) or (recognizer.confirm and not recognizer.confirm(m.group())):
                continue
            spans.append((a, b, recognizer.entity))
            taken[a:b] = b"\x01" * (b - a)
    spans.extend(s for s in _names(text) if not any(taken[s[0]:s[1]]))
    return sorted(spans)


def _names(text: str) -> list[tuple[int, int, str]]:
    """A known first name (plus a following capitalised word), or any capitalised word after a title."""
    first, last = name_lists()
    words = list(WORD.finditer(text))
    out = []
    i = 0
    while i < len(words):
        word = words[i]
        before = text[max(0, word.start() - 6):word.start()].rstrip(". ").split(" ")[-1]
        if word.group() in first or before in TITLES:
            end = word.end()
            if i + 1 < len(words) and text[end:words[i + 1].start()] == " " and (
                    words[i + 1].group() in last or words[i + 1].group() not in first):
                end = words[i + 1].end()
                i += 1
            out.append((word.start(), end, "NAME"))
        i += 1
    return out
