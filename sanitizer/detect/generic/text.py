"""Free text that mentions people (tier B): notes, comments, descriptions carrying e-mails, phone numbers,
card or social-security numbers, or a person's full name.

A column of prose is flagged when a share of its values carries such a mention (not on one hit), so a
product description naming a "Mad Scientist" once does not make the column personal data.
"""

from __future__ import annotations

import itertools
import re

from .. import lexicon
from ..base import Detector, hints
from ..registry import register

PROSE = r"\S+\s+\S+\s+\S+\s+\S+\s+\S+"  # five words or more
EMBEDDED = (
    r"[^\s@]@[^\s@]+\.[^\s@.0-9]{2}",  # e-mail
    r"(?:^|[^0-9.])\+?[0-9(][0-9 ().\-]{7,17}[0-9](?:[^0-9]|$)",  # phone-like digit run with grouping
    r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",  # US SSN
    r"\b[0-9]{4}[ \-][0-9]{4}[ \-][0-9]{4}[ \-][0-9]{1,7}\b",  # grouped card number
)
MENTION = r"@|[A-ZÀ-Ýa-zß-ÿ]\s+[A-ZÀ-Þ][a-zß-ÿ]+\s+[A-ZÀ-Þ][a-zß-ÿ]+|[0-9]{3}-[0-9]{2}-[0-9]{4}"
_EMBEDDED = re.compile("|".join((EMBEDDED[0], EMBEDDED[2], EMBEDDED[3])))
_PHONE_RUN = re.compile(EMBEDDED[1])
_WORD = re.compile(r"[\w'\u2019\-]+")


def names_in(text: str) -> bool:
    """A capitalised given name followed by a capitalised family name, neither an ordinary word."""
    first, last, common = lexicon.first_names(), lexicon.last_names(), lexicon.common_words()
    words = _WORD.findall(text)
    for a, b in itertools.pairwise(words):
        if a[:1].isupper() and b[:1].isupper() and not a.isupper():
            la, lb = a.lower(), b.lower()
            if la in first and lb in last and la not in common and lb not in common:
                return True
    return False


def phone_digits_ok(text: str) -> bool:
    """The phone-like run really has 8-15 digits (the regex alone admits years and amounts)."""
    for m in re.finditer(EMBEDDED[1], text):
        digits = sum(c.isdigit() for c in m.group())
        if 8 <= digits <= 15:
            return True
    return False


@register
class FreeTextWithPii(Detector):
    """Prose whose values mention an e-mail, phone, SSN, card number or a person's full name."""

    name = "free_text"
    entity = "free_text"
    tier = "B"
    name_hints = hints("notes?_", "comments?", "remarks?", "description_", "memo", "message", "body_",
                       "feedback", "bio_", "biography", "about_", "observaciones", "bemerkung", "kommentar",
                       "commentaire", "nota_", "opmerking", "uwagi", "free_?text", "details_")
    gate = "spaced"
    min_share = 0.1  # share of prose values mentioning someone
    min_share_hinted = 0.1
    score = 0.8
    hint_bonus = 0.1

    patterns = (PROSE,)

    def assess(self, column, sample):
        if sample.kind != "text" or sample.total == 0 or sample.share(sample.regex(PROSE)) < 0.5:
            return None  # not prose: names and codes have their own detectors
        finding = super().assess(column, sample)
        if finding is None or finding.evidence.share * sample.total < 1.5:
            return None  # a threshold, never a single mention
        return finding

    def candidates(self, sample, hint: bool = False):
        """Prose with something worth a closer look: an @, a digit run, or two capitalised words in a row."""
        return sample.regex(PROSE) & (sample.regex(MENTION) | sample.regex(EMBEDDED[1]))

    def confirm(self, value: str) -> bool:
        if _EMBEDDED.search(value) or (_PHONE_RUN.search(value) and phone_digits_ok(value)):
            return True
        return names_in(value)
