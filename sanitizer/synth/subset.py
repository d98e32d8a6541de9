"""FK-closed subsets: a start (N% of customers, or a WHERE) plus everything it needs, in any schema shape.

Two closures, run together to a fixpoint on the source's read-only snapshot:
- upward: every parent a kept row references is kept (always; otherwise the load fails);
- downward: children of *selected* rows (start rows and the children already followed) come along,
  along the child edges `follow_children` chooses. Rows pulled in only as parents are not followed
  down: a kept store does not drag in every customer of the store, which would make 5% into 100%.
Cycles (Sakila's store <-> staff) need no manual break: key sets only grow and are finite, so the
fixpoint ends. The result is one SELECT per table over a set of key values carried as array
parameters (no temporary tables, so it runs on a read-only snapshot and a standby).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects import postgresql as pg

from ..errors import ConfigError
from ..schema.model import ForeignKey, SchemaInfo, TableInfo
from ._graph import Edge, Order, edges, load_order
from ._plan import effective_fks

Start = float | int | str  # percent of the table's rows (0 < p <= 100), or a SQL WHERE condition


class SubsetSpec(BaseModel):
    """The `subset:` section of a rules file.

        subset:
          start:
            customer: {percent: 5}
            film: {where: "rating = 'G'"}
          follow_children: true          # or {customer: [rental, payment], store: true}
          seed: 0
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    class StartSpec(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        percent: float | None = Field(None, gt=0, le=100, description="Share of the table's rows, picked by key.")
        where: str | None = Field(None, min_length=1, description="SQL condition on the table's own columns.")

    start: dict[str, StartSpec] = Field(..., min_length=1, description="Table -> percent or where.")
    follow_children: bool | dict[str, bool | list[str]] = Field(
        True, description="Child edges followed from selected rows: all, none, or parent -> children.")
    seed: int = Field(0, description="Picks which rows a percent start takes; same seed, same subset.")

    def plan(self, schema: SchemaInfo, extra_fks: dict[str, list[ForeignKey]] | None = None) -> SubsetPlan:
        start: dict[str, Start] = {}
        for name, spec in self.start.items():
            if (spec.percent is None) == (spec.where is None):
                raise ConfigError(f"subset.start.{name}: give exactly one of percent or where")
            start[name] = spec.percent if spec.percent is not None else spec.where
        return plan_subset(schema, start, self.follow_children, seed=self.seed, extra_fks=extra_fks)


@dataclass(frozen=True)
class SubsetPlan:
    start: dict[str, Start]  # qualified table -> percent or WHERE
    up: tuple[Edge, ...]  # every FK: parents of kept rows are kept
    down: tuple[Edge, ...]  # chosen child edges: children of selected rows are selected
    keys: dict[str, tuple[str, ...]]  # the columns that identify a row (PK, else first UNIQUE), () when none
    order: Order  # load order, parents first
    seed: int = 0

    def describe(self) -> list[str]:
        """What the plan does, one line per rule, for logs and `--dry-run` output."""
        lines = [f"start {t}: {f'{s}% by key' if not isinstance(s, str) else f'WHERE {s}'}"
                 for t, s in self.start.items()]
        lines += [f"down  {e.parent} -> {e.child}({', '.join(e.fk.columns)})" for e in self.down]
        lines += [f"up    {e.label}" for e in self.up]
        return lines


def plan_subset(schema: SchemaInfo, start: dict[str, Start], follow_children: bool | dict = True, *,
                seed: int = 0, extra_fks: dict[str, list[ForeignKey]] | None = None) -> SubsetPlan:
    """Which edges to follow from which start; checked against the schema, no database needed.

    `extra_fks`: FKs the schema does not carry, by table, e.g. those PostgreSQL declares on the partitions
    of a partitioned table (`hints_from_source(source).foreign_keys`), which reflection leaves out.
    """
    resolved: dict[str, Start] = {}
    for name, how in start.items():
        table = _table(schema, name, f"start.{name}")
        if not isinstance(how, str) and not 0 < float(how) <= 100:
            raise ConfigError(f"subset.start.{name}: percent must be > 0 and <= 100 (got {how})")
        if not isinstance(how, str) and not _key(table):
            raise ConfigError(f"subset.start.{name}: a percent needs a primary key or UNIQUE columns; use where")
        resolved[table.qualified] = how
    all_edges = edges(schema, {q: effective_fks(schema.tables[q], fks) for q, fks in (extra_fks or {}).items()
                               if q in schema.tables})
    if follow_children is True:
        down = all_edges
    elif not follow_children:
        down = []
    else:
        chosen: dict[str, bool | set[str]] = {}
        for parent, children in follow_children.items():
            q = _table(schema, parent, f"follow_children.{parent}").qualified
            chosen[q] = children if isinstance(children, bool) else {
                _table(schema, c, f"follow_children.{parent}.{c}").qualified for c in children}
        down = [e for e in all_edges if chosen.get(e.parent) is True
                or (isinstance(chosen.get(e.parent), set) and e.child in chosen[e.parent])]
    keys = {q: _key(t) for q, t in schema.tables.items()}
    return SubsetPlan(resolved, tuple(all_edges), tuple(down), keys, load_order(schema.tables, all_edges), seed)


def _table(schema: SchemaInfo, name: str, where: str) -> TableInfo:
    table = schema.find(name)
    if table is None:
        raise ConfigError(f"subset.{where}: no table {name!r} in the source; use schema.table or a bare name "
                          "of the default schema")
    return table


def _key(table: TableInfo) -> tuple[str, ...]:
    return tuple(table.primary_key) or (table.unique_sets[0] if table.unique_sets else ())


@dataclass
class _State:
    kept: dict[str, set[tuple]] = field(default_factory=dict)
    selected: dict[str, set[tuple]] = field(default_factory=dict)
    clauses: dict[str, list] = field(default_factory=dict)  # keyless tables: OR of these


def subset_queries(source, plan: SubsetPlan) -> dict[str, sa.Select]:
    """One SELECT per table (load order) returning exactly the subset's rows; empty for unreached tables."""
    return _Resolver(source, plan).run()


class _Resolver:
    def __init__(self, source, plan: SubsetPlan) -> None:
        self.source, self.plan, self.conn = source, plan, source.connection
        self.pg = self.conn.dialect.name == "postgresql"
        self.partitioned = set()
        if self.pg:
            from ..source.partitions import partitioned_leaves

            self.partitioned = set(partitioned_leaves(self.conn))
        self.state = _State()

    def table(self, name: str) -> sa.Table:
        return self.source.sa_table(self.source.schema.tables[name])

    def select(self, name: str, *columns) -> sa.Select:
        """SELECT from the table's own rows: ONLY on PostgreSQL, so inheritance children are not read twice."""
        table = self.table(name)
        query = sa.select(*(columns or (table,))).select_from(table)
        if self.pg and name not in self.partitioned:
            query = query.with_hint(table, "ONLY", "postgresql")
        return query

    def member(self, name: str, cols: tuple[str, ...], values: set[tuple]) -> sa.ColumnElement:
        """`cols IN values`, the values bound as one array parameter per column on PostgreSQL."""
        table = self.table(name)
        if not values:
            return sa.false()
        ordered = sorted(values, key=repr)
        columns = [table.c[c] for c in cols]
        if not self.pg:
            return columns[0].in_([v[0] for v in ordered]) if len(cols) == 1 else sa.tuple_(*columns).in_(ordered)
        arrays = [sa.bindparam(None, [v[i] for v in ordered], type_=pg.ARRAY(c.type)) for i, c in enumerate(columns)]
        if len(cols) == 1:
            return columns[0] == sa.any_(arrays[0])
        unnest = sa.func.unnest(*arrays).table_valued(*(f"k{i}" for i in range(len(cols)))).render_derived()
        return sa.tuple_(*columns).in_(sa.select(*unnest.c))

    def fetch(self, query) -> set[tuple]:
        return {tuple(r) for r in self.conn.execute(query) if all(v is not None for v in r)}

    def start_keys(self, name: str, how: Start) -> set[tuple]:
        key = self.plan.keys[name]
        table = self.table(name)
        if isinstance(how, str):
            return self.fetch(self.select(name, *(table.c[c] for c in key)).where(sa.text(f"({how})")))
        rows = sorted(self.fetch(self.select(name, *(table.c[c] for c in key))), key=lambda k: self.rank(name, k))
        return set(rows[:max(1, round(len(rows) * float(how) / 100))] if rows else [])

    def rank(self, name: str, key: tuple) -> bytes:
        return hashlib.blake2b(repr((self.plan.seed, name, key)).encode(), digest_size=8).digest()

    def values(self, name: str, cols: tuple[str, ...], rows: set[tuple] | list) -> set[tuple]:
        """The values of `cols` in the given rows (key tuples, or clauses for a keyless table)."""
        key = self.plan.keys[name]
        if key and cols == key:
            return set(rows)
        table = self.table(name)
        where = self.member(name, key, rows) if key else sa.or_(*rows)
        return self.fetch(self.select(name, *(table.c[c] for c in cols)).where(where).distinct())

    def run(self) -> dict[str, sa.Select]:
        plan = self.plan
        delta_sel: dict[str, set | list] = {}
        delta_kept: dict[str, set | list] = {}
        for name, how in plan.start.items():
            if plan.keys[name]:
                delta_sel[name] = delta_kept[name] = self.start_keys(name, how)
            else:
                delta_sel[name] = delta_kept[name] = [sa.text(f"({how})")]
        while any(delta_sel.values()) or any(delta_kept.values()):
            new_sel, new_kept = self.merge(delta_sel, delta_kept)
            delta_sel, delta_kept = {}, {}
            for e in plan.down:
                if delta_sel_parent := new_sel.get(e.parent):
                    self.follow(e.child, e.fk.columns, e.parent, e.fk.referred_columns, delta_sel_parent,
                                delta_sel, delta_kept)
            for e in plan.up:
                if delta_kept_child := new_kept.get(e.child):
                    self.follow(e.parent, e.fk.referred_columns or plan.keys[e.parent], e.child, e.fk.columns,
                                delta_kept_child, None, delta_kept)
        return {name: self.final(name) for name in plan.order.tables}

    def merge(self, delta_sel: dict, delta_kept: dict) -> tuple[dict, dict]:
        """Add the deltas to the state; return only what is really new."""
        new_sel, new_kept = {}, {}
        for target, delta, sink in ((self.state.selected, delta_sel, new_sel), (self.state.kept, delta_kept, new_kept)):
            for name, rows in delta.items():
                if self.plan.keys[name]:
                    fresh = set(rows) - target.setdefault(name, set())
                    target[name] |= fresh
                else:
                    known = self.state.clauses.setdefault(name, [])
                    fresh = [c for c in rows if all(c is not k for k in known)]  # clauses: no ==
                    known += fresh if target is self.state.kept else []
                if fresh:
                    sink[name] = fresh
        return new_sel, new_kept

    def follow(self, to: str, to_cols, frm: str, frm_cols, rows, sel_sink: dict | None, kept_sink: dict) -> None:
        """Rows of `to` whose `to_cols` match `frm_cols` of the given `frm` rows, into the sinks."""
        to_cols = tuple(to_cols) or self.plan.keys[to]
        frm_cols = tuple(frm_cols) or self.plan.keys[frm]
        values = self.values(frm, frm_cols, rows)
        if not values:
            return
        key = self.plan.keys[to]
        if key:
            table = self.table(to)
            found = values if to_cols == key else self.fetch(
                self.select(to, *(table.c[c] for c in key)).where(self.member(to, to_cols, values)))
        else:
            found = [self.member(to, to_cols, values)]
        for sink in (sel_sink, kept_sink):
            if sink is not None:
                sink[to] = set(sink.get(to, ())) | found if key else [*sink.get(to, []), *found]

    def final(self, name: str) -> sa.Select:
        key = self.plan.keys[name]
        if key:
            return self.select(name).where(self.member(name, key, self.state.kept.get(name, set())))
        clauses = self.state.clauses.get(name)
        return self.select(name).where(sa.or_(*clauses) if clauses else sa.false())


def driver_sql(query: sa.Select, connection: sa.Connection) -> tuple[str, dict]:
    """A subset SELECT as the driver's SQL text and parameters: what the PostgreSQL reader needs to run
    `COPY (<sql>) TO STDOUT` with psycopg's `cursor.copy(sql, params)` instead of its full-table COPY."""
    compiled = query.compile(dialect=connection.dialect)
    return str(compiled), dict(compiled.params)
