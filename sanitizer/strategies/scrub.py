"""scrub: find personal data inside free text and replace each piece with a keyed fake or a placeholder."""

from __future__ import annotations

import random
import string
from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..schema.model import ColumnInfo
from ._detect import PREFILTER, find_spans
from ._digits import replace_digits
from ._names import names, take
from ._util import require_text
from .base import Context, Strategy, StrategyParams, map_distinct
from .email import fake_emails
from .phone import country_digits
from .registry import register

Entity = Literal["EMAIL", "IBAN", "CARD", "SSN", "IP", "PHONE", "NAME"]
ENTITIES: tuple[str, ...] = Entity.__args__  # type: ignore[attr-defined]


class ScrubParams(StrategyParams):
    replace: Literal["fake", "placeholder"] = Field(
        "fake", description="fake: a keyed fake of the same kind (text stays realistic, the same e-mail maps "
        "alike everywhere); placeholder: a typed tag like <EMAIL>.")
    entities: list[Entity] = Field(list(ENTITIES), min_length=1, description="Which kinds of PII to look for.")


@register
class Scrub(Strategy[ScrubParams]):
    """Find e-mails, phones, card numbers, IBANs, SSNs, IPs and person names in free text and replace them.

    Matches are confirmed before they count (Luhn, mod-97, SSN ranges, ipaddress); names come from
    Faker's name lists across locales. An Arrow regex prefilter skips text with no candidate pattern
    and no capitalised word; only the rest is searched in Python, once per distinct value. Fakes are
    keyed per span, so "jane@x.io" becomes the same fake in every ticket. Best effort by nature:
    keep the leak check on, and prefer nullify for text nobody needs.

    Example: "Call Jane Doe on +44 20 7946 0958" -> "Call Maria Lopez on +44 73 1180 2246"
    """

    name: ClassVar[str] = "scrub"
    may_keep_value: ClassVar[str] = "text without PII stays"
    params_model: ClassVar[type[StrategyParams]] = ScrubParams
    example: ClassVar[str] = "ticket_body: {strategy: scrub, replace: fake}"

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column) or super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return map_distinct(values, lambda d: self._scrub(d, ctx))

    def _scrub(self, distinct: pa.Array, ctx: Context) -> pa.Array:
        candidate = pc.or_(pc.match_substring_regex(distinct, PREFILTER),
                           pc.match_substring_regex(distinct, r"[A-ZÀ-Þ][a-zß-ÿ]"))
        rows = np.flatnonzero(candidate.to_numpy(zero_copy_only=False))
        if not len(rows):
            return distinct
        texts = distinct.take(pa.array(rows)).to_pylist()
        wanted = set(self.params.entities)
        found = [[s for s in find_spans(t) if s[2] in wanted] for t in texts]
        pieces: dict[str, set[str]] = {}
        for text, spans in zip(texts, found, strict=True):
            for a, b, entity in spans:
                pieces.setdefault(entity, set()).add(text[a:b])
        fakes = {entity: self._replacements(entity, sorted(p), ctx) for entity, p in pieces.items()}
        out = distinct.to_pylist()
        for row, text, spans in zip(rows, texts, found, strict=True):
            parts, pos = [], 0
            for a, b, entity in spans:
                parts += [text[pos:a], fakes[entity][text[a:b]]]
                pos = b
            out[row] = "".join(parts) + text[pos:]
        return pa.array(out, pa.string())

    def _replacements(self, entity: str, spans: list[str], ctx: Context) -> dict[str, str]:
        if self.params.replace == "placeholder":
            return dict.fromkeys(spans, f"<{entity}>")
        arr = pa.array(spans, pa.string())
        domain = f"{self.domain()}|{entity}"
        hashes = ctx.uint64(domain, arr)
        if entity == "EMAIL":
            new = fake_emails(hashes, arr, "example.com", "en_US", False, ctx, domain)
        elif entity == "PHONE":
            new = replace_digits(arr, ctx, domain, keep_leading=country_digits(arr))
        elif entity == "CARD":
            new = replace_digits(arr, ctx, domain, luhn=True)
        elif entity == "SSN":  # area 9xx is never issued, so a fake cannot be someone's SSN
            new = pc.binary_join_element_wise("9", pc.utf8_slice_codeunits(replace_digits(arr, ctx, domain), 1), "")
        elif entity == "NAME":
            one_word = pc.equal(pc.count_substring(arr, " "), 0)
            first, last = take(names("first_name", "en_US"), hashes), take(names("last_name", "en_US"), hashes, 16)
            new = pc.if_else(one_word, last, pc.binary_join_element_wise(first, last, " "))
        else:
            new = pa.array([_fake_other(entity, s, int(h)) for s, h in zip(spans, hashes, strict=True)])
        return dict(zip(spans, new.to_pylist(), strict=True))


def _fake_other(entity: str, span: str, h: int) -> str:
    """IBANs keep country and length with valid check digits; IPs go to documentation ranges."""
    if entity == "IBAN":
        compact = span.replace(" ", "")
        rng = random.Random(h)  # a private generator seeded by the keyed hash: no shared state
        body = "".join(rng.choice(string.ascii_uppercase) if c.isalpha() else str(rng.randrange(10))
                       for c in compact[4:])
        check = 98 - int("".join(str(int(c, 36)) for c in body + compact[:2] + "00")) % 97
        iban = f"{compact[:2]}{check:02d}{body}"
        return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if " " in span else iban
    if ":" in span:
        groups = [f"{(h >> (16 * i)) & 0xFFFF:x}" for i in range(4)]
        return "2001:db8::" + ":".join(groups)
    net = ("192.0.2", "198.51.100", "203.0.113")[h % 3]
    return f"{net}.{(h >> 8) % 254 + 1}"
