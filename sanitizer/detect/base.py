"""What a detector is, and what it reports: a finding that explains itself and never carries a value.

A detector looks at one column through two lenses, as Presidio's recognizers do: the column's *name*
(multilingual hint regexes, the CONTEXT of Presidio) and its *values* (compiled patterns run by Arrow over
the whole sample, then a Python `confirm` checksum on the candidates only, and `invalidate` for known fakes).
A column is reported when a *share* of its sampled values passes, never on a single hit: one stray e-mail in a
comment column is free text, not an e-mail column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import ClassVar, Literal

import numpy as np

from ..schema.model import ColumnInfo
from .sample import Kind, Sample

Tier = Literal["A", "B", "C"]
TIERS: tuple[Tier, ...] = ("A", "B", "C")
CONFIRM_CAP = 200  # candidates confirmed in Python per detector and column
PROBE = 30  # candidates confirmed first, to give up early on a column that clearly is not the entity
TIER_MEANING = {
    "A": "structurally checkable identifier",
    "B": "direct identifier without checksum",
    "C": "quasi-identifier (reported only)",
}


@dataclass(frozen=True)
class Evidence:
    """Why a column was reported: which detector, whether its name hinted, how much of the sample passed."""

    detector: str
    name_hint: bool
    share: float  # of the sampled non-null, non-empty values that passed pattern + confirm
    threshold: float  # the share this detector needed, given the hint
    sampled: int  # non-null, non-empty values looked at
    checksum: bool  # the detector confirms candidates with a checksum or structural parse

    def describe(self) -> str:
        hint = "name hint" if self.name_hint else "no name hint"
        if self.sampled == 0:
            return f"{self.detector}: {hint}; no non-empty values sampled"
        check = ", checksum" if self.checksum else ""
        return (f"{self.detector}: {hint}; {self.share:.0%} of {self.sampled} sampled values pass"
                f" (needs {self.threshold:.0%}{check})")


@dataclass(frozen=True)
class ColumnFinding:
    """One entity suspected in one column. Holds no sampled value, so it can be logged and stored freely."""

    table: str
    column: str
    entity: str
    tier: Tier
    confidence: float  # 0..1
    evidence: Evidence

    @property
    def qualified(self) -> str:
        return f"{self.table}.{self.column}"

    def as_dict(self) -> dict[str, object]:
        ev = self.evidence
        return {
            "column": self.qualified, "entity": self.entity, "tier": self.tier,
            "confidence": round(self.confidence, 3),
            "evidence": {"detector": ev.detector, "name_hint": ev.name_hint, "share": round(ev.share, 4),
                         "threshold": ev.threshold, "sampled": ev.sampled, "checksum": ev.checksum},
        }


def estimate(sample: Sample, mask: np.ndarray, test: Callable[[int], bool], threshold: float,
             cap: int = CONFIRM_CAP) -> float:
    """Share of sampled rows whose distinct value is a candidate (`mask`) and passes `test(index)`.

    At most `cap` candidates are tested, spread evenly, and their (row-weighted) pass rate is scaled up; a
    first probe of PROBE candidates ends it early when the share is clearly under `threshold`. The share
    is an estimate from a sample anyway; this keeps Python off most of the values of most columns.
    """
    upper = sample.share(mask)
    if upper == 0.0 or upper < threshold:
        return upper
    idx = np.flatnonzero(mask)
    if len(idx) > cap:
        idx = idx[np.linspace(0, len(idx) - 1, cap).astype(np.int64)]
    if len(idx) > 2 * PROBE:
        probe = idx[np.linspace(0, len(idx) - 1, PROBE).astype(np.int64)]
        first = upper * _rate(sample, probe, test)
        if first < threshold * 0.5:
            return first
    return upper * _rate(sample, idx, test)


def _rate(sample: Sample, idx: np.ndarray, test: Callable[[int], bool]) -> float:
    ok = np.fromiter((test(i) for i in idx), dtype=bool, count=len(idx))
    weights = sample.counts[idx]
    return float(weights[ok].sum()) / float(weights.sum())


@cache
def normalize_name(name: str) -> str:
    """Column name as `_word_word_`: camelCase split, accents dropped, digits apart, so hints match tokens."""
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    name = re.sub(r"([a-z])([0-9])|([0-9])([a-z])", lambda m: "_".join(g for g in m.groups() if g), name)
    return "_" + re.sub(r"[^a-z0-9]+", "_", name).strip("_") + "_"


def hints(*words: str) -> re.Pattern[str]:
    """Hint regexes, each anchored at the start of a name token; end a word with `_` to anchor its end too."""
    return re.compile("_(?:" + "|".join(words) + ")")


class Detector:
    """Base detector: class attributes are its data (Presidio's PATTERNS/CONTEXT), methods rarely change.

    Subclasses set `name`, `entity`, `tier`, `name_hints`, `patterns` and thresholds; override `confirm` for a
    checksum, `invalidate` for known fakes, or `passes` for a whole-sample test (dictionaries, ranges).
    """

    name: ClassVar[str]
    entity: ClassVar[str]
    tier: ClassVar[Tier]
    name_hints: ClassVar[re.Pattern[str] | None] = None
    negative_hints: ClassVar[re.Pattern[str] | None] = None  # a name that says "not this" (e.g. email_verified)
    patterns: ClassVar[tuple[str, ...]] = ()  # RE2 syntax for Arrow; a value must match one (full match: anchor)
    kinds: ClassVar[frozenset[Kind]] = frozenset({"text"})
    requires_hint: ClassVar[bool] = False  # values alone can never tell (ages, dates of birth, passwords)
    min_share: ClassVar[float] = 0.8  # without a name hint
    min_share_hinted: ClassVar[float] = 0.5  # with one
    score: ClassVar[float] = 0.85  # confidence when every sampled value passes
    hint_bonus: ClassVar[float] = 0.1
    hint_only: ClassVar[float] = 0.0  # confidence for a hinted column with no value to look at (0: no finding)
    checksum: ClassVar[bool] = False
    gate: ClassVar[str | None] = None  # a Sample mask that bounds the share cheaply (skip when it can't reach)

    def confirm(self, value: str) -> bool:
        """Checksum or structural parse of one pattern candidate; the default accepts the pattern."""
        return True

    def confirm_hinted(self, value: str) -> bool:
        """`confirm` for a column whose name already says what it holds: may accept weaker shapes."""
        return self.confirm(value)

    def invalidate(self, value: str) -> bool:
        """True for a value known to be a fake or a test number (Presidio's invalidate_result)."""
        return False

    def _confirms(self) -> bool:
        cls = type(self)
        return (cls.confirm is not Detector.confirm or cls.invalidate is not Detector.invalidate
                or cls.confirm_hinted is not Detector.confirm_hinted)

    def patterns_for(self, hint: bool) -> tuple[str, ...]:
        """The value patterns in force; a detector may admit looser shapes under a name hint."""
        return self.patterns

    def hinted(self, column: ColumnInfo) -> bool:
        norm = normalize_name(column.name)
        if self.negative_hints is not None and self.negative_hints.search(norm):
            return False
        return bool(self.name_hints is not None and self.name_hints.search(norm))

    def candidates(self, sample: Sample, hint: bool = False) -> np.ndarray:
        """Vectorized pre-filter over the distinct values: any of the patterns in force (all, if none)."""
        patterns = self.patterns_for(hint)
        if not patterns:
            return np.ones(len(sample.values), dtype=bool)
        mask = sample.regex(patterns[0])
        for pattern in patterns[1:]:
            mask |= sample.regex(pattern)
        return mask

    def _check(self, value: str, hint: bool) -> bool:
        ok = self.confirm_hinted(value) if hint else self.confirm(value)
        return ok and not self.invalidate(value)

    def passes(self, sample: Sample, hint: bool = False) -> np.ndarray:
        """Exact boolean mask over the distinct values: pre-filter, then confirm every candidate.

        `hint` lets a detector accept weaker value evidence when the column's name already says what it is.
        """
        mask = self.candidates(sample, hint)
        if self._confirms():
            texts = sample.texts
            for i in np.flatnonzero(mask):
                mask[i] = self._check(texts[i], hint)
        return mask

    def measure(self, sample: Sample, hint: bool = False, threshold: float = 0.0) -> float:
        """Share of sampled rows that pass, estimated where exactness cannot change the verdict.

        Python confirms at most CONFIRM_CAP candidates, spread evenly, and scales their pass rate (the share
        is an estimate from a sample anyway). It stops early when the pre-filter alone cannot reach
        `threshold`, or when a first probe of PROBE candidates leaves the share far below it.
        """
        if type(self).passes is not Detector.passes:  # a detector with its own (vectorized) test
            return sample.share(self.passes(sample, hint))
        mask = self.candidates(sample, hint)
        if not self._confirms():
            return sample.share(mask)
        texts = sample.texts
        return estimate(sample, mask, lambda i: self._check(texts[i], hint), threshold)

    def assess(self, column: ColumnInfo, sample: Sample) -> ColumnFinding | None:
        """Report the column if its name and enough of its values say so; None otherwise."""
        if sample.kind not in self.kinds:
            return None
        hint = self.hinted(column)
        if self.requires_hint and not hint:
            return None
        threshold = self.min_share_hinted if hint else self.min_share
        if sample.total == 0:
            if not (hint and self.hint_only):
                return None
            return self._finding(column, hint, 0.0, threshold, self.hint_only, 0)
        if self.gate is not None and sample.share(sample.mask(self.gate)) < threshold:
            return None
        share = self.measure(sample, hint, threshold)
        if share < threshold:
            return None
        confidence = min(0.99, self.score * (0.6 + 0.4 * share) + (self.hint_bonus if hint else 0.0))
        return self._finding(column, hint, share, threshold, confidence, sample.total)

    def _finding(self, column: ColumnInfo, hint: bool, share: float, threshold: float,
                 confidence: float, sampled: int) -> ColumnFinding:
        evidence = Evidence(self.name, hint, round(share, 4), threshold, sampled, self.checksum)
        return ColumnFinding(column.table, column.name, self.entity, self.tier, round(confidence, 3), evidence)
