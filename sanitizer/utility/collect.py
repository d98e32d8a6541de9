"""Is staging still predictive of production? Column shapes, column-pair trends and FK fan-out, scored.

The collector watches both streams of a refresh — production's batches as read, staging's as written —
and keeps only the bounded summaries of `sketch.py`. Scores follow SDMetrics' QualityReport where it has
one: KSComplement (1 - Kolmogorov-Smirnov distance) for numbers and dates, TVComplement (1 - total
variation distance) for categories, 1 - |r_prod - r_staging| / 2 for pairs of numeric columns; and one
it lacks: KSComplement of the children-per-parent distribution of each foreign key. A report holds
scores, shares and rank curves, never a value: charts are P-P plots (shares at or below the same values).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

from ..schema.model import ColumnInfo, TableInfo
from ..schema.wire import decode
from .sketch import ColumnSummary, FanOut, Moments, as_floats

SIDES = ("source", "staging")
SUMMARY_ERRORS = (pa.ArrowException, pl.exceptions.PolarsError, TypeError, ValueError, OverflowError)
MAX_PAIR_COLUMNS = 8  # numeric columns per table whose pairs are followed: 28 pairs at most
PP_POINTS = 21  # ranks the P-P plots are cut at


@dataclass(frozen=True)
class TableWatch:
    """What to follow in one table: columns to summarise, numeric columns for pairs, foreign keys."""

    info: TableInfo
    columns: dict[str, str]  # column -> strategy name ("" when not known: `sanitizer utility` without rules)
    pair_columns: tuple[str, ...] = ()
    foreign_keys: tuple[tuple[str, ...], ...] = ()
    parents: tuple[str, ...] = ()  # "parent_table(col, ...)" for each foreign key, for the report


def _orderable(column: ColumnInfo) -> bool:
    kind = column.arrow_type
    return not pa.types.is_boolean(kind) and (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                              or pa.types.is_decimal(kind) or pa.types.is_temporal(kind))


def watch_table(info: TableInfo, strategies: dict[str, str]) -> TableWatch:
    """Follow the columns given (a run: those a strategy changes; kept ones are identical by construction),
    pairs among up to MAX_PAIR_COLUMNS numeric columns (changed ones first), and every foreign key."""
    by_name = {c.name: c for c in info.columns}
    numeric = [c for c in strategies if _orderable(by_name[c])]
    numeric += [c.name for c in info.columns if c.name not in strategies and _orderable(c)]
    numeric = numeric[:MAX_PAIR_COLUMNS]
    keys = tuple(fk.columns for fk in info.foreign_keys)
    parents = tuple(f"{fk.referred_table}({', '.join(fk.referred_columns)})" for fk in info.foreign_keys)
    return TableWatch(info, dict(strategies), tuple(numeric), keys, parents)


@dataclass
class _Side:
    columns: dict[str, ColumnSummary] = field(default_factory=dict)
    pairs: dict[tuple[str, str], Moments] = field(default_factory=dict)
    fan_out: dict[tuple[str, ...], FanOut] = field(default_factory=dict)
    rows: int = 0


class UtilityCollector:
    """Summaries of every watched table on both sides; `observe` is safe from one thread per table and side."""

    def __init__(self, watches: list[TableWatch]) -> None:
        self.watches = {w.info.qualified: w for w in watches}
        self._sides: dict[tuple[str, str], _Side] = {}
        self._lock = threading.Lock()

    def _side(self, table: str, side: str) -> _Side:
        with self._lock:
            return self._sides.setdefault((table, side), _Side())

    def observe(self, table: str, side: str, batch: pa.RecordBatch) -> None:
        watch = self.watches.get(table)
        if watch is None or not batch.num_rows:
            return
        state = self._side(table, side)
        state.rows += batch.num_rows
        by_name = {c.name: c for c in watch.info.columns}
        typed: dict[str, pa.Array | None] = {}

        def values(name: str) -> pa.Array | None:  # each column decoded at most once per batch
            if name not in typed:
                typed[name] = _typed(batch.column(name), by_name[name])
            return typed[name]

        for name in watch.columns:
            column = values(name)
            summary = state.columns.setdefault(name, ColumnSummary())
            if column is None or summary.unreadable:
                summary.unreadable = True
                summary.rows += batch.num_rows
                continue
            try:
                summary.add(column)
            except SUMMARY_ERRORS:  # a type no summary understands: reported as such, the run goes on
                summary.unreadable = True
        numbers = {}
        for name in watch.pair_columns:
            column = values(name)
            numbers[name] = None if column is None else _floats(column)
        for x, y in itertools.combinations(watch.pair_columns, 2):
            if (x in watch.columns or y in watch.columns) and numbers[x] is not None and numbers[y] is not None:
                state.pairs.setdefault((x, y), Moments()).add(numbers[x], numbers[y])
        for key in watch.foreign_keys:
            fan_out = state.fan_out.setdefault(key, FanOut())
            if not fan_out.unreadable:
                try:
                    fan_out.add([batch.column(c) for c in key])
                except SUMMARY_ERRORS:
                    fan_out.unreadable = True

    def report(self) -> dict[str, object]:
        tables = [self._table_report(w) for w in self.watches.values()]
        tables = [t for t in tables if t is not None]
        shapes = [c["score"] for t in tables for c in t["columns"] if c["score"] is not None]
        pairs = [p["score"] for t in tables for p in t["pairs"] if p["score"] is not None]
        fans = [f["score"] for t in tables for f in t["fan_out"] if f["score"] is not None]
        parts = {"column_shapes": _mean(shapes), "column_pair_trends": _mean(pairs), "fan_out": _mean(fans)}
        present = [v for v in parts.values() if v is not None]
        return {"score": _mean(present) if present else None, **parts,
                "counts": {"columns": len(shapes), "pairs": len(pairs), "foreign_keys": len(fans)},
                "tables": tables}

    def _table_report(self, watch: TableWatch) -> dict[str, object] | None:
        name = watch.info.qualified
        source, staging = self._sides.get((name, "source")), self._sides.get((name, "staging"))
        if source is None and staging is None:
            return None
        source, staging = source or _Side(), staging or _Side()
        columns = [_column_score(c, watch.columns[c], source.columns.get(c), staging.columns.get(c))
                   for c in watch.columns]
        pairs = []
        for key in sorted(set(source.pairs) | set(staging.pairs)):
            r_source = source.pairs[key].correlation() if key in source.pairs else None
            r_staging = staging.pairs[key].correlation() if key in staging.pairs else None
            score = None if r_source is None or r_staging is None else 1 - abs(r_source - r_staging) / 2
            pairs.append({"columns": list(key), "source_r": _round(r_source), "staging_r": _round(r_staging),
                          "score": _round(score)})
        fans = []
        for key, parent in zip(watch.foreign_keys, watch.parents, strict=True):
            fans.append(_fan_out_score(key, parent, source.fan_out.get(key), staging.fan_out.get(key)))
        return {"table": name, "rows": {"source": source.rows, "staging": staging.rows},
                "columns": columns, "pairs": pairs, "fan_out": fans}


def _typed(values: pa.Array, column: ColumnInfo) -> pa.Array | None:
    """A column's values in its Arrow type: PostgreSQL text form is decoded; binary wire form cannot be."""
    if pa.types.is_binary(values.type) and not pa.types.is_binary(column.arrow_type):
        return None
    if pa.types.is_string(values.type) and not pa.types.is_string(column.arrow_type):
        try:
            return decode(values, column)
        except Exception:  # a value Arrow cannot read as the type: summarise the texts instead
            return values
    return values


def _floats(values: pa.Array) -> np.ndarray | None:
    """Float64 with NaN for nulls, row-aligned (the pair moments need rows to line up)."""
    floats = as_floats(values)
    return None if floats is None else floats.to_numpy(zero_copy_only=False)


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def ks_distance(a, b) -> float:
    """Kolmogorov-Smirnov distance of two KLL sketches: the largest gap of their CDFs on both grids."""
    ranks = np.linspace(0, 1, 101)
    grid = np.unique(np.concatenate([a.get_quantiles(ranks), b.get_quantiles(ranks)]))
    return float(np.max(np.abs(np.array(a.get_cdf(grid))[:-1] - np.array(b.get_cdf(grid))[:-1])))


def pp_points(a, b) -> list[list[float]]:
    """P-P plot: at values cut at production's ranks, production's share at or below each (x) against
    staging's (y); the diagonal when they match, steps of discrete values included."""
    cuts = np.unique(np.asarray(a.get_quantiles(np.linspace(0, 1, PP_POINTS))))  # strictly increasing
    x, y = np.asarray(a.get_cdf(cuts))[:-1], np.asarray(b.get_cdf(cuts))[:-1]
    return [[0.0, 0.0]] + [[round(float(p), 3), round(float(q), 3)] for p, q in zip(x, y, strict=True)]


def ks_samples(x: np.ndarray, y: np.ndarray) -> float:
    grid = np.unique(np.concatenate([x, y]))
    fx = np.searchsorted(x, grid, side="right") / len(x)
    fy = np.searchsorted(y, grid, side="right") / len(y)
    return float(np.max(np.abs(fx - fy)))


def pp_samples(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    """pp_points for two sorted samples (the fan-out distributions)."""
    cuts = np.unique(np.quantile(x, np.linspace(0, 1, PP_POINTS)))
    fx, fy = np.searchsorted(x, cuts, side="right") / len(x), np.searchsorted(y, cuts, side="right") / len(y)
    return [[0.0, 0.0]] + [[round(float(p), 3), round(float(q), 3)] for p, q in zip(fx, fy, strict=True)]


def total_variation(source: dict[int, float], staging: dict[int, float], by_label: bool) -> float:
    """Over the same labels when staging kept production's labels, else over the ranked shares."""
    if by_label:
        keys = set(source) | set(staging)
        return 0.5 * sum(abs(source.get(k, 0.0) - staging.get(k, 0.0)) for k in keys)
    a, b = sorted(source.values(), reverse=True), sorted(staging.values(), reverse=True)
    size = max(len(a), len(b))
    a, b = np.pad(a, (0, size - len(a))), np.pad(b, (0, size - len(b)))
    return float(0.5 * np.abs(a - b).sum())


def _column_score(name: str, strategy: str, source: ColumnSummary | None,
                  staging: ColumnSummary | None) -> dict[str, object]:
    entry: dict[str, object] = {"column": name, "strategy": strategy or None, "kind": None, "metric": None,
                                "score": None, "chart": None}
    if source is None or staging is None or source.unreadable or staging.unreadable:
        entry["note"] = "not summarised (a type the summaries cannot read)" if source or staging else "no rows"
        return entry
    entry["null_share"] = {"source": round(source.null_share, 4), "staging": round(staging.null_share, 4)}
    entry["distinct_share"] = {"source": round(source.distinct_share, 4),
                               "staging": round(staging.distinct_share, 4)}
    null_similarity = 1 - abs(source.null_share - staging.null_share)
    empty = [s for s in (source, staging) if s.values.is_empty()]
    if empty:  # one side has no values at all (e.g. nullify): nothing of the shape survived
        shape = 0.0 if len(empty) == 1 else 1.0
        entry.update(kind="empty", metric="null share only")
    elif source.numeric and staging.numeric:
        shape = 1 - ks_distance(source.values, staging.values)
        entry.update(kind="numeric", metric="KSComplement", chart={"type": "pp", "points": pp_points(
            source.values, staging.values)})
    elif source.categorical and staging.categorical:
        p, q = source.frequencies.shares(), staging.frequencies.shares()
        by_label = sum(q[k] for k in q if k in p) >= 0.5
        shape = 1 - total_variation(p, q, by_label)
        ranked = [sorted(p.values(), reverse=True)[:10], sorted(q.values(), reverse=True)[:10]]
        entry.update(kind="categorical", metric="TVComplement" + ("" if by_label else " (ranked shares)"),
                     chart={"type": "bars", "source": [round(v, 4) for v in ranked[0]],
                            "staging": [round(v, 4) for v in ranked[1]]})
    else:  # free text, names, e-mails: the lengths and how many distinct values
        length = 1 - ks_distance(source.values, staging.values)
        distinct = 1 - abs(source.distinct_share - staging.distinct_share)
        shape = (length + distinct) / 2
        entry.update(kind="text", metric="length KSComplement and distinct share",
                     chart={"type": "pp", "points": pp_points(source.values, staging.values)})
    entry["shape"] = round(shape, 4)
    entry["score"] = round((shape + null_similarity) / 2, 4)
    return entry


def _fan_out_score(key: tuple[str, ...], parent: str, source: FanOut | None,
                   staging: FanOut | None) -> dict[str, object]:
    entry: dict[str, object] = {"foreign_key": f"({', '.join(key)}) -> {parent}", "score": None, "chart": None}
    if source is not None and staging is not None and (source.unreadable or staging.unreadable):
        entry["note"] = "not summarised (a key type the summaries cannot read)"
        return entry
    if source is None or staging is None or not len(source.counts) or not len(staging.counts):
        entry["note"] = "no child rows with a parent on one side"
        return entry
    x, y = source.distribution(), staging.distribution()
    entry.update(score=round(1 - ks_samples(x, y), 4),
                 mean_children={"source": round(float(x.mean()), 3), "staging": round(float(y.mean()), 3)},
                 parents_with_children={"source": round(source.parents.estimate()),
                                        "staging": round(staging.parents.estimate())},
                 chart={"type": "pp", "points": pp_samples(x, y)})
    return entry
