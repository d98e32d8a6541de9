"""Re-identification risk: k-anonymity of the quasi-identifiers staging still carries.

A quasi-identifier (postal code, birth date, gender, city...) names nobody alone; together they often
do (Sweeney: ZIP, birth date and sex single out 87% of Americans). A row's k is how many rows share its
combination of those values; k = 1 is a row anyone holding the same facts elsewhere can pick out.

Only quasi-identifiers written in a form that still links to the real person count: kept, or changed by a
fixed rule (round, generalize, mask with kept characters), or moved a little by a keyed amount (noise,
date_shift: counted as exact, which overstates their risk). A keyed fake or pseudonym links to nobody.

Counting is exact and bounded in memory: each row's combination is hashed (64 bits) and spilled to one
of BUCKETS files by its top bits; a combination lives in one bucket, so buckets are counted one by one.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from ..errors import ConfigError
from ..rules import RuleSet
from ..schema.model import TableInfo
from ..strategies.base import Strategy
from .sketch import hashes, row_hashes

BUCKETS = 16
DETECTED = ("date_of_birth", "age", "gender", "postal_code", "city", "region", "job")  # detectors' names


@dataclass(frozen=True)
class QuasiIdentifier:
    column: str
    why: str  # "declared (rules/shop.yaml: tables.users.quasi_identifiers[0])" or "name looks like postal_code"
    strategy: str
    linkable: bool


def linkable(strategy) -> bool:
    """Output an outsider can match to facts about the person: no secret in the way, or only a nudge."""
    return not strategy.keyed or strategy.perturbs


def quasi_identifiers(info: TableInfo, strategies: dict[str, Strategy] | None, rules: RuleSet | None,
                      default_schema: str | None) -> list[QuasiIdentifier]:
    """A table's quasi-identifiers: those its rules declare (each must be a column) and those whose
    names the detectors of DETECTED recognise. Without strategies (staging read on its own, no rules)
    every one counts as linkable: what cannot be shown faked is assumed kept."""
    from ..detect.registry import detectors

    columns = {c.name for c in info.columns}
    rule = rules.table(info.qualified, default_schema) if rules is not None else None
    declared = rule.quasi_identifiers if rule is not None else {}
    for name, origin in declared.items():
        if name not in columns:
            raise ConfigError(f"{origin}: {info.qualified} has no column {name!r}; list columns of the table")
    registry = detectors()
    found = []
    for column in info.columns:
        strategy = strategies.get(column.name) if strategies is not None else None
        if strategies is not None and strategy is None:
            continue
        if column.name in declared:
            why = f"declared ({declared[column.name]})"
        else:
            named = next((d for d in DETECTED if registry.get(d).hinted(column)), None)
            if named is None:
                continue
            why = f"name looks like {named}"
        found.append(QuasiIdentifier(column.name, why, strategy.name if strategy else "unknown",
                                     linkable(strategy) if strategy else True))
    return found


@dataclass
class _Table:
    columns: tuple[str, ...]
    number: int
    rows: int = 0
    failed: str = ""  # why the combinations could not be hashed: such a table fails any --min-k


@dataclass
class RiskCollector:
    """Spills each written row's quasi-identifier hash; `report` counts the combinations."""

    tables: dict[str, list[QuasiIdentifier]]
    directory: Path | None = None  # made at the first spill, removed by close()
    _state: dict[str, _Table] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for number, (table, qis) in enumerate(self.tables.items()):
            columns = tuple(q.column for q in qis if q.linkable)
            if columns:
                self._state[table] = _Table(columns, number)

    def _file(self, state: _Table, bucket: int) -> Path:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="sanitizer-risk-"))
        return self.directory / f"t{state.number}-{bucket}.u64"

    def observe(self, table: str, batch: pa.RecordBatch) -> None:
        state = self._state.get(table)
        if state is None or not batch.num_rows or state.failed:
            return
        columns = [batch.column(c) for c in state.columns]
        try:
            hashed = row_hashes(columns) if len(columns) > 1 else hashes(columns[0])
        except (pa.ArrowException, pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            state.failed = f"the values could not be hashed ({type(exc).__name__})"
            return
        state.rows += len(hashed)
        bucket = (hashed >> np.uint64(60)).astype(np.intp)
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(BUCKETS + 1))
        for b in range(BUCKETS):
            if bounds[b] < bounds[b + 1]:
                with self._file(state, b).open("ab") as out:
                    hashed[order[bounds[b]:bounds[b + 1]]].tofile(out)

    def report(self, min_k: int | None = None) -> dict[str, object]:
        tables = []
        for table, qis in self.tables.items():
            entry: dict[str, object] = {
                "table": table, "quasi_identifiers": [
                    {"column": q.column, "why": q.why, "strategy": q.strategy, "linkable": q.linkable} for q in qis]}
            state = self._state.get(table)
            if state is None:
                entry["note"] = "no quasi-identifier left in a linkable form"
            else:
                entry.update(self._count(state, min_k))
            tables.append(entry)
        counted = [t for t in tables if "smallest_k" in t and t["smallest_k"] is not None]
        return {"min_k": min_k, "smallest_k": min((t["smallest_k"] for t in counted), default=None),
                "tables": tables}

    def _count(self, state: _Table, min_k: int | None) -> dict[str, object]:
        if state.failed:
            return {"linkable": list(state.columns), "rows": state.rows, "smallest_k": None,
                    "note": f"not counted: {state.failed}"}
        smallest, unique, groups, below = None, 0, 0, 0
        for path in (self._file(state, b) for b in range(BUCKETS)):
            if not path.exists():
                continue
            _, counts = np.unique(np.fromfile(path, dtype=np.uint64), return_counts=True)
            groups += len(counts)
            unique += int((counts == 1).sum())
            low = int(counts.min())
            smallest = low if smallest is None else min(smallest, low)
            if min_k is not None:
                below += int(counts[counts < min_k].sum())
        result: dict[str, object] = {
            "linkable": list(state.columns), "rows": state.rows, "combinations": groups, "smallest_k": smallest,
            "unique_rows": unique, "unique_share": round(unique / state.rows, 4) if state.rows else 0.0}
        if min_k is not None:
            result["rows_below_min_k"] = below
        return result

    def close(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
