"""The pattern check: no structurally checkable identifier may sit in a column the rules let through.

The leak check only finds values that were in a column a rule transforms. A `keep` column nobody
suspected (a notes column, a free-text reference) can hold e-mails or card numbers that never passed
through a masking rule, so nothing would find them. This check looks at *every* output cell of every
text column whose rule is `keep`, `scrub` or `regex`, with the tier-A detectors of `sanitizer.detect` (their
patterns, checksums and known-fake lists: one source of truth), and reports the cells that hold one.

Speed comes from doing almost nothing for most cells: one RE2 gate over the batch (Arrow, vectorised)
drops every cell with no `@`, fewer than five digits and no dotted or colon-separated hex; the rest
are grouped to distinct values, the detectors' own patterns run over those (Arrow again), and Python
confirms checksums only on the distinct candidates that are left.

What counts for one cell, where the detectors (built for whole-column shares) would be too lax:
- national identity numbers only in a column whose name hints at one: a check digit passes one
  random digit string in ten, so one cell of digits without that hint proves nothing;
- IP addresses only when globally routable: 10.0.0.1 or 192.0.2.7 identify no one;
- e-mail addresses at reserved domains (example.com, .test, .invalid: RFC 2606/6761) are fakes;
- in a `scrub` column with `replace: fake`, the entities scrub replaces with realistic fakes
  (cards, IBANs, phones) are not counted: no pattern tells a keyed fake from a real one there.
E-mails, card numbers, IBANs and SSNs are also found *inside* free text; other entities only as the
whole cell (a phone-shaped run of digits inside prose is as often an order number).

A hit is a finding unless the rules allow that entity in that column with a written reason
(`allow:` in the rules file). Findings carry entity, detector and cell counts, never a value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..detect.base import Detector
from ..detect.registry import detectors
from ..errors import ConfigError
from ..schema.model import ColumnInfo, SchemaInfo, TableInfo
from .leak import Finding

if TYPE_CHECKING:
    from ..rules import RuleSet
    from ..strategies.base import Strategy

KIND = "pii_pattern_in_output"
CHECKED_STRATEGIES = frozenset({"keep", "shuffle", "scrub", "regex"})  # the rules that let text through
# unchanged (shuffle only moves it to other rows), or partly: scrub and regex return text without a match
# as it is (their may_keep_value), so it is read here
# One cheap RE2 pass: a cell no tier-A entity could be in has none of these (5+ digits covers cards,
# IBANs, SSNs, phones and national IDs; `@` e-mails; dotted digits IPv4; colon or dash hex IPv6 and MACs).
GATE = (r"@|[0-9](?:[^0-9]*[0-9]){4}|[0-9]\.[0-9]|:[0-9A-Fa-f]*:|[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-"
        r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}")
# A whole cell counts for one entity: the first here that confirms it (an SSN is phone-shaped too, so phone is
# last). Free text may hold several entities and counts for each.
PRIORITY = ("email", "credit_card", "iban", "us_ssn", "national_id", "mac_address", "ip_address", "phone")
# Entities whose shape alone settles a whole cell: 078-05-1120 is a (published, fake) SSN, never a phone.
SHAPE_OWNERS = frozenset({"us_ssn"})
HINT_ONLY_ENTITIES = frozenset({"national_id"})  # one unhinted cell of digits proves nothing (see above)
# scrub's entity names -> detector entities whose scrub fakes pass every structural check
SCRUB_REALISTIC_FAKES = {"CARD": "credit_card", "IBAN": "iban", "PHONE": "phone"}
RESERVED_MAIL_DOMAIN = re.compile(r"@(?:[\w\-]+\.)*(?:example\.(?:com|org|net)|[\w\-]+\.(?:example|test|invalid"
                                  r"|localhost)|example|test|invalid|localhost)$", re.IGNORECASE)


@dataclass(frozen=True)
class Embedded:
    """How to find an entity inside free text: an RE2 prefilter for Arrow and a Python regex for spans."""

    entity: str
    prefilter: str
    pattern: re.Pattern[str]


EMBEDDED = (
    Embedded("email", r"[^\s@]@[^\s@]+\.[A-Za-z]{2}",
             re.compile(r"[\w.%+'\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,24}")),
    Embedded("credit_card", r"[0-9](?:[ \-]?[0-9]){11,18}",
             re.compile(r"(?<![\w\-])[0-9](?:[ \-]?[0-9]){11,18}(?![\w\-])")),
    Embedded("iban", r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}",
             re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")),
    Embedded("us_ssn", r"[0-9]{3}-[0-9]{2}-[0-9]{4}", re.compile(r"(?<![\w\-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![\w\-])")),
)


@lru_cache(maxsize=1)
def tier_a() -> dict[str, tuple[Detector, ...]]:
    """Tier-A detectors by entity, from the one detector registry."""
    by_entity: dict[str, list[Detector]] = {}
    for detector in detectors():
        if detector.tier == "A":
            by_entity.setdefault(detector.entity, []).append(detector)
    order = sorted(by_entity, key=lambda e: PRIORITY.index(e) if e in PRIORITY else len(PRIORITY))
    return {entity: tuple(by_entity[entity]) for entity in order}


def pattern_entities() -> list[str]:
    """The entity names the pattern check reports, and an `allow:` entry may name."""
    return sorted(tier_a())


def cell_ok(detector: Detector, value: str, hint: bool) -> bool:
    """One cell's confirmation: the detector's checksum and fake list, plus the per-cell rules above."""
    ok = detector.confirm_hinted(value) if hint else detector.confirm(value)
    if not ok or detector.invalidate(value):
        return False
    if detector.entity == "ip_address":
        return _global_ip(value)
    if detector.entity == "email":
        return not RESERVED_MAIL_DOMAIN.search(value)
    return True


def _global_ip(value: str) -> bool:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return net.is_global


@dataclass
class PatternCheck:
    """Streaming pattern check; `observe` every batch of every output text column, then `findings()`.

    `rules` supplies the allow-list; `default_schema` lets a bare table name in the rules match.
    """

    rules: RuleSet | None = None
    default_schema: str | None = None
    cells: int = 0  # text cells looked at, for throughput figures
    hits: dict[tuple[str, str], int] = field(default_factory=dict)  # (column, entity) -> cells
    allowed_hits: dict[tuple[str, str], int] = field(default_factory=dict)  # hits the allow-list excused
    _by: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # detectors that fired

    def observe(self, column: ColumnInfo, output: pa.Array | pa.ChunkedArray, strategy: Strategy | str) -> None:
        """Take one batch of one output column; ignored unless it is text and its rule lets text through."""
        name = strategy if isinstance(strategy, str) else strategy.name
        if name not in CHECKED_STRATEGIES or not column.is_text:
            return
        if isinstance(output, pa.ChunkedArray):
            output = output.combine_chunks()
        if pa.types.is_large_string(output.type):
            output = output.cast(pa.string())
        self.cells += len(output) - output.null_count
        gated = output.filter(pc.fill_null(pc.match_substring_regex(output, GATE), False))
        if not len(gated):
            return
        counted = pc.value_counts(pc.utf8_trim_whitespace(gated))
        values, counts = counted.field("values"), counted.field("counts").to_numpy()
        skip = self._excused(column, strategy) | _named_otherwise(column)
        allowed = self._allowed(column)
        for entity, mask, by in self._scan(column, values, skip):
            key = (column.qualified, entity)
            target = self.allowed_hits if entity in allowed else self.hits
            target[key] = target.get(key, 0) + int(counts[mask].sum())
            self._by.setdefault(key, set()).update(by)

    def observe_batch(self, info: TableInfo, strategies: Mapping[str, Strategy], batch: pa.RecordBatch) -> None:
        """Every column of one sanitized batch (typed, or PostgreSQL text: text columns read the same)."""
        for name, strategy in strategies.items():
            self.observe(info.column(name), batch.column(name), strategy)

    def _scan(self, column: ColumnInfo, values: pa.Array, skip: set[str]
              ) -> Iterable[tuple[str, np.ndarray, set[str]]]:
        """Per entity: a mask over the distinct values holding it (whole cell or inside text), with detectors."""
        texts: list[str] | None = None
        regex_cache: dict[str, np.ndarray] = {}

        def regex(pattern: str) -> np.ndarray:
            if pattern not in regex_cache:
                hit = pc.match_substring_regex(values, pattern)
                regex_cache[pattern] = pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
            return regex_cache[pattern]

        claimed = np.zeros(len(values), bool)  # whole cells an earlier entity took, or whose shape it owns
        for entity, group in tier_a().items():
            if entity in skip:
                continue
            mask = np.zeros(len(values), bool)
            shaped = np.zeros(len(values), bool)
            by: set[str] = set()
            for detector in group:
                hint = detector.hinted(column)
                if entity in HINT_ONLY_ENTITIES and not hint:
                    continue
                candidates = np.zeros(len(values), bool)
                for pattern in detector.patterns_for(hint):
                    candidates |= regex(pattern)
                shaped |= candidates
                candidates &= ~(mask | claimed)
                if not candidates.any():
                    continue
                if texts is None:
                    texts = values.to_pylist()
                ok = _confirm(np.flatnonzero(candidates), texts, lambda v, d=detector, h=hint: cell_ok(d, v, h))
                if len(ok):
                    mask[ok] = True
                    by.add(detector.name)
            claimed |= shaped if entity in SHAPE_OWNERS else mask
            for embedded in EMBEDDED:
                if embedded.entity != entity:
                    continue
                candidates = regex(embedded.prefilter) & ~mask
                if not candidates.any():
                    continue
                if texts is None:
                    texts = values.to_pylist()
                ok = _confirm(np.flatnonzero(candidates), texts, lambda v, e=embedded: _inside(e, v))
                if len(ok):
                    mask[ok] = True
                    by.add(f"{entity} in text")
            if mask.any():
                yield entity, mask, by

    def _excused(self, column: ColumnInfo, strategy: Strategy | str) -> set[str]:
        """Entities a scrub with realistic fakes makes on its own (see the module docstring)."""
        if isinstance(strategy, str) or strategy.name != "scrub":
            return set()
        params = strategy.params
        if getattr(params, "replace", "fake") != "fake":
            return set()
        return {SCRUB_REALISTIC_FAKES[e] for e in getattr(params, "entities", ()) if e in SCRUB_REALISTIC_FAKES}

    def _allowed(self, column: ColumnInfo) -> dict[str, str]:
        if self.rules is None:
            return {}
        return self.rules.allowed(column.table, column.name, self.default_schema)

    def findings(self) -> list[Finding]:
        """One finding per column and entity, with the number of cells; never a value."""
        return [Finding(KIND, column, n, detail=f"{entity}: cells holding one "
                                                  f"({', '.join(sorted(self._by[(column, entity)]))})")
                for (column, entity), n in sorted(self.hits.items())]


def _named_otherwise(column: ColumnInfo) -> set[str]:
    """Entities a column's name rules out: digits in a postal-code column ("01007-010") are not a phone."""
    postal = next((d for d in detectors() if d.entity == "postal_code"), None)
    return {"phone"} if postal is not None and postal.hinted(column) else set()


def _confirm(rows: np.ndarray, texts: list[str], test: Callable[[str], bool]) -> np.ndarray:
    """The rows whose text passes `test`: Python runs only here, once per distinct candidate."""
    return rows[np.fromiter((test(texts[i]) for i in rows), dtype=bool, count=len(rows))] if len(rows) else rows


def _inside(embedded: Embedded, text: str) -> bool:
    """Whether any span of the entity inside free text passes a detector of that entity."""
    group = tier_a().get(embedded.entity, ())
    for match in embedded.pattern.finditer(text):
        span = match.group().strip(".-")
        if any(cell_ok(d, span, False) for d in group):
            return True
    return False


def check_allow_columns(rules: RuleSet, schema: SchemaInfo) -> None:
    """Every `allow:` entry names a column that exists; a typo would silently allow nothing."""
    for table_name, table_rule in rules.tables.items():
        if not table_rule.allow:
            continue
        info = schema.find(table_name)
        if info is None:
            continue  # build_plan names the missing table
        for column, allow in table_rule.allow.items():
            if column not in info.column_names:
                raise ConfigError(f"{allow.origin}: no column {column!r} in {info.qualified}; "
                                  f"columns are: {', '.join(info.column_names)}")
