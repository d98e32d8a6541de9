"""Synthetic datasets that load into the real schema: every constraint met by construction, not by luck.

Order of work per table (parents first, see _graph): key columns are made structurally (sequences,
keyed bijections, draws from the parents' generated keys); other columns get values from their type,
bounds and statistics (_values), then the rules' strategy is applied to those values, so an `email`
rule turns filler into e-mail addresses and `fake kind: job` into jobs. A strategy whose output would
break the column (type, length, NOT NULL, UNIQUE, CHECK) is dropped for that column with a note.
All randomness comes from `seed` through per-column generators: same inputs, same dataset.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..keys import Keyring
from ..rules import RuleSet
from ..schema.model import ColumnInfo, SchemaInfo
from ..strategies.base import Context
from ._graph import Edge, Order, edges, load_order
from ._plan import NOT_SEQUENCEABLE, TablePlan, column_stats, effective_fks, normalize_stats, plan_table, row_counts
from ._values import Spec, generate_column, kind_of, permutation
from .hints import SynthHints

DEFAULT_NULL_FRACTION = 0.1  # nullable columns without statistics
NO_STRATEGY_KINDS = {"array", "tsvector", "inet"}  # text forms a strategy would not keep valid


@dataclass
class SynthResult:
    tables: dict[str, pa.Table]  # in load order; partitions and `skip` tables are empty
    order: Order
    notes: list[str] = field(default_factory=list)


def generate(schema: SchemaInfo, rules: RuleSet | None, rows: int | dict[str, int], seed: int = 0,
             stats: dict | None = None, *, hints: SynthHints | None = None) -> dict[str, pd.DataFrame]:
    """Generate a dataset for `schema`: table -> DataFrame (Arrow-backed dtypes), parents first.

    rows: N for every table, or {table: N} (key "*" for the rest); with `stats` from a schema snapshot,
    tables without a count scale with the snapshot's row counts. `hints` (enum labels, CHECKs, domains,
    partitions; see hints_from_source) make more schemas load; without them such columns get filler.
    """
    result = synthesize(schema, rules, rows, seed, stats, hints)
    return {name: table.to_pandas(types_mapper=pd.ArrowDtype) for name, table in result.tables.items()}


def synthesize(schema: SchemaInfo, rules: RuleSet | None, rows: int | dict[str, int], seed: int = 0,
               stats: dict | None = None, hints: SynthHints | None = None) -> SynthResult:
    """Like generate(), as Arrow tables plus the load order and notes on what could not be honoured."""
    hints = hints or SynthHints()
    stats = normalize_stats(stats)
    counts = row_counts(schema, rows, stats)
    fks_of = {root: effective_fks(schema.tables[root], extra)
              for root, extra in hints.foreign_keys.items() if root in schema.tables}
    all_edges = [e for e in edges(schema, fks_of) if e.child not in hints.routed]
    order = load_order(schema.tables, all_edges)
    gen = _Generator(schema, rules, seed, stats, hints, order, all_edges, counts)
    for name in order.tables:
        table_rule = rules.table(name, schema.default_schema) if rules else None
        n = 0 if name in hints.routed or (table_rule is not None and table_rule.skip) else counts[name]
        gen.table(name, n)
    gen.fill_deferred()
    notes = [*hints.notes, *gen.notes]
    notes += [f"{e.label}: cycle; left NULL so rows load parents first" for e in order.opened]
    notes += [f"{e.label}: NOT NULL cycle; values are consistent but load only with FKs deferred or added "
              "after the rows" for e in order.hard]
    return SynthResult(tables=gen.done, order=order, notes=notes)


class _Generator:
    def __init__(self, schema, rules, seed, stats, hints, order: Order, all_edges: list[Edge],
                 counts: dict[str, int]) -> None:
        self.schema, self.rules, self.seed, self.stats, self.counts = schema, rules, seed, stats, counts
        self.hints, self.order, self.edges = hints, order, all_edges
        self.keyring = Keyring(f"sanitizer-synth/seed/{seed}")  # keyed by the seed, never by the masking key
        self.done: dict[str, pa.Table] = {}
        self.deferred: list[tuple[str, Edge, TablePlan]] = []
        self.notes: list[str] = []
        self.referenced = {}
        for e in all_edges:
            target = schema.tables[e.parent]
            cols = e.fk.referred_columns or target.primary_key
            self.referenced.setdefault(e.parent, set()).update(cols)

    def rng(self, *parts: str) -> np.random.Generator:
        digest = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
        return np.random.default_rng([self.seed & (2**64 - 1), int.from_bytes(digest, "little")])

    def spec(self, col: ColumnInfo, plan: TablePlan) -> Spec:
        hint = self.hints.column(col.table, col.name)
        type_name = hint.type_name or col.type_name
        cstats = column_stats(self.schema, self.stats, col.table, col.name)
        null_fraction = cstats.get("null_fraction", DEFAULT_NULL_FRACTION if col.nullable else 0.0)
        table = plan.table
        return Spec(where=col.qualified, kind=self.spec_kind(col),
                    arrow_type=col.arrow_type, type_name=type_name, max_length=col.max_length, bound=hint.bound,
                    element=hint.element, unique=col.name in plan.sequences,
                    sequential=table.primary_key == (col.name,),
                    null_fraction=0.0 if not col.nullable or col.name in plan.keys else float(null_fraction or 0),
                    stats_min=cstats.get("min"), stats_max=cstats.get("max"))

    def table(self, name: str, n: int) -> None:
        table = self.schema.tables[name]
        fks = [e for e in self.edges if e.child == name]
        kinds = {c.name: self.spec_kind(c) for c in table.columns}
        bounds = {c.name: self.hints.column(name, c.name).bound for c in table.columns}
        choices = {c for c, b in bounds.items() if b is not None and b.choices is not None}
        plan = plan_table(table, fks, self.referenced.get(name, set()), kinds, choices)
        rule = self.rules.table(name, self.schema.default_schema) if self.rules else None
        for column, col_rule in (rule.columns.items() if rule and not rule.skip else ()):
            if col_rule.strategy.params.unique and column in kinds and column not in plan.keys \
                    and kinds[column] not in NOT_SEQUENCEABLE and column not in choices:
                plan.sequences.add(column)  # `unique: true` in the rules: distinct inputs, so distinct outputs
        n = plan.cap(n, self.counts | {q: len(t) for q, t in self.done.items()})  # generated, else planned
        arrays: dict[str, pa.Array] = {}
        specs = {c.name: self.spec(c, plan) for c in table.columns}
        fk_columns = {c for e in fks for c in e.fk.columns}
        for col in table.columns:
            if col.name not in fk_columns:
                arrays[col.name] = generate_column(specs[col.name], n, self.rng(name, col.name))
        self.strategies(table, plan, specs, arrays, n)
        for group in plan.joint:
            self.joint(name, group, n, arrays)
        for edge in fks:
            if edge.fk.columns[0] not in arrays:
                self.reference(name, edge, plan, n, arrays)
        self.done[name] = _table(table, arrays)
        self.notes += plan.notes

    def spec_kind(self, col: ColumnInfo) -> str:
        hint = self.hints.column(col.table, col.name)
        return kind_of(pa.null(), hint.type_name) if hint.type_name else kind_of(col.arrow_type, col.type_name)

    def reference(self, name: str, edge: Edge, plan: TablePlan, n: int, arrays: dict) -> None:
        """Fill one FK's columns with keys of generated parent rows (or NULL / later, inside cycles)."""
        table = self.schema.tables[name]
        if edge.parent == name:
            parent = _table(table, arrays)  # self-reference: row i points to a row before it (a tree)
            rng = self.rng(name, *edge.fk.columns, "self")
            idx = np.floor(rng.random(n) * np.arange(n)).astype(np.int64)
            mask = np.arange(n) == 0 if edge.nullable else np.zeros(n, bool)
        elif edge.parent not in self.done:
            if edge in self.order.opened:
                for c in edge.fk.columns:
                    arrays[c] = pa.nulls(n, table.column(c).arrow_type)
                return
            self.deferred.append((name, edge, plan))
            for c in edge.fk.columns:
                arrays[c] = pa.nulls(n, table.column(c).arrow_type)
            return
        else:
            parent = self.done[edge.parent]
            rng = self.rng(name, *edge.fk.columns, "fk")
            size = len(parent)
            if edge in plan.distinct:
                idx = permutation(n, size, rng)
            else:
                idx = rng.integers(0, max(size, 1), n) if size else np.zeros(n, np.int64)
            mask = np.zeros(n, bool)
            if edge.nullable and not set(edge.fk.columns) & plan.sequences and edge not in plan.distinct:
                stats = column_stats(self.schema, self.stats, name, edge.fk.columns[0])
                mask = rng.random(n) < float(stats.get("null_fraction", DEFAULT_NULL_FRACTION))
            if not size:
                mask = np.ones(n, bool)
        self.assign(table, edge, parent, idx, mask, arrays)

    def assign(self, table, edge: Edge, parent: pa.Table, idx: np.ndarray, mask: np.ndarray, arrays: dict) -> None:
        referred = edge.fk.referred_columns or self.schema.tables[edge.parent].primary_key
        take = pa.array(idx) if len(parent) else None
        for child_col, parent_col in zip(edge.fk.columns, referred, strict=True):
            target = table.column(child_col).arrow_type
            values = parent.column(parent_col).take(take) if take is not None else pa.nulls(len(idx), target)
            values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
            if mask.any():
                values = pc.if_else(pa.array(mask), pa.nulls(len(idx), values.type), values)
            arrays[child_col] = values if values.type == target else pc.cast(values, target)

    def joint(self, name: str, group: list[Edge], n: int, arrays: dict) -> None:
        """Distinct combinations of parent rows for a UNIQUE set made of FKs: one bijection, mixed radix."""
        sizes = [len(self.done.get(e.parent, ())) for e in group]
        flat = permutation(n, int(np.prod(sizes, dtype=object)), self.rng(name, "joint", *(e.label for e in group)))
        table = self.schema.tables[name]
        for edge, size in zip(group, sizes, strict=True):
            idx, flat = flat % size, flat // size
            self.assign(table, edge, self.done[edge.parent], idx, np.zeros(n, bool), arrays)

    def strategies(self, table, plan: TablePlan, specs: dict[str, Spec], arrays: dict, n: int) -> None:
        """Apply each column's rule strategy to its generated values, where the result still fits."""
        rule = self.rules.table(table.qualified, self.schema.default_schema) if self.rules else None
        if rule is None or rule.skip or n == 0:
            return
        base = dict(arrays)
        todo = {c.name: c for c in table.columns if c.name in rule.columns and c.name in arrays}
        while todo:
            ready = [c for c in todo.values()
                     if not rule.columns[c.name].strategy.depends_on() & (todo.keys() - {c.name})]
            for col in ready or list(todo.values()):  # a dependency cycle is the rules check's to report
                del todo[col.name]
                strategy = rule.columns[col.name].strategy
                why = self.unsuitable(col, strategy, plan, specs[col.name])
                if why is None:
                    ctx = Context(self.keyring, col, original=base, output=arrays)
                    out, why = _fit(strategy, base[col.name], ctx, col, specs[col.name])
                    if why is None:
                        arrays[col.name] = out
                if why and why != "keep":
                    self.notes.append(f"{col.qualified}: strategy {strategy.name} not applied ({why})")

    @staticmethod
    def unsuitable(col: ColumnInfo, strategy, plan: TablePlan, spec: Spec) -> str | None:
        if not strategy.changes_values:
            return "keep"
        if col.name in plan.keys:
            return "a key column is generated structurally so references stay joined"
        if spec.kind in NO_STRATEGY_KINDS or spec.bound is not None:
            return f"{spec.kind} column with bounds or a text form the strategy would not keep valid"
        return strategy.check(col)

    def fill_deferred(self) -> None:
        """NOT NULL references inside cycles: every parent exists now, so draw them and patch the columns."""
        for name, edge, plan in self.deferred:
            table, current = self.schema.tables[name], self.done[name]
            n, arrays = len(current), {c: current.column(c).combine_chunks() for c in current.column_names}
            parent = self.done[edge.parent]
            rng = self.rng(name, *edge.fk.columns, "fk")
            idx = permutation(n, len(parent), rng) if edge in plan.distinct else rng.integers(0, len(parent), n)
            self.assign(table, edge, parent, idx, np.zeros(n, bool), arrays)
            self.done[name] = _table(table, arrays)


def _fit(strategy, values: pa.Array, ctx: Context, col: ColumnInfo, spec: Spec) -> tuple[pa.Array, str | None]:
    """The strategy's output if it fits the column; else (values, why not)."""
    try:
        out = strategy.apply(values, ctx)
        if isinstance(out, pa.ChunkedArray):
            out = out.combine_chunks()
        if out.type != col.arrow_type:
            out = pc.cast(out, col.arrow_type)
    except Exception as exc:  # a strategy that cannot take filler input: keep the filler, say so
        return values, f"failed on generated input: {type(exc).__name__}"
    if col.max_length and col.is_text:
        out = pc.utf8_slice_codeunits(out, 0, col.max_length)
    if not col.nullable and out.null_count:
        out = pc.if_else(pc.is_null(out), values, out)
    if spec.unique and pc.count_distinct(out).as_py() != len(out) - out.null_count:
        return values, "its output repeats values in a UNIQUE column"
    return out, None


def _table(table, arrays: dict[str, pa.Array]) -> pa.Table:
    fields = [pa.field(c.name, c.arrow_type) for c in table.columns if c.name in arrays]
    return pa.Table.from_arrays([arrays[f.name] for f in fields], schema=pa.schema(fields))
