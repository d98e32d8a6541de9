"""Row counts and the structure of each table to generate: which columns are unique by construction,
which foreign keys are drawn jointly or without replacement, and what statistics say about a column.

Separate from the value generators so that the rules for keys are in one place: a PK or UNIQUE set is
satisfied by making ONE of its columns a sequence when it has a column that can be one; when all its
columns are foreign keys (link tables such as film_actor), the FKs are drawn jointly as distinct
combinations through one keyed bijection over the product of the parents' row counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..schema.model import ForeignKey, SchemaInfo, TableInfo
from ._graph import Edge

NOT_SEQUENCEABLE = {"float", "bool", "array", "tsvector", "inet"}
ALL_TABLES = "*"


def normalize_stats(stats: dict | None) -> dict[str, dict]:
    """{table: {"rows": n, "columns": {column: {"null_fraction", "min", "max", ...}}}} from either a
    `schema snapshot` document (tables as a list, column statistics under "stats") or that mapping itself."""
    if not stats:
        return {}
    tables = stats.get("tables", stats)
    if isinstance(tables, list):
        return {t["name"]: {"rows": t.get("rows"),
                            "columns": {c["name"]: c.get("stats") or {} for c in t.get("columns", [])}}
                for t in tables}
    return tables if isinstance(tables, dict) else {}


def table_stats(schema: SchemaInfo, stats: dict | None, qualified: str) -> dict:
    tables = stats or {}
    if qualified in tables:
        return tables[qualified] or {}
    bare = qualified.split(".", 1)[-1]
    if schema.default_schema and qualified.startswith(f"{schema.default_schema}."):
        return tables.get(bare) or {}
    return {}


def column_stats(schema: SchemaInfo, stats: dict | None, table: str, column: str) -> dict:
    columns = table_stats(schema, stats, table).get("columns") or {}
    return columns.get(column) or {}


def row_counts(schema: SchemaInfo, rows: int | dict[str, int], stats: dict | None) -> dict[str, int]:
    """Rows per table: explicit counts win; others scale with the snapshot's row counts, else the default.

    With statistics, the scale is the median of (asked / snapshot rows) over the tables given a count, or,
    when only a bare N is given, N / (rows of the largest table): the largest table gets N rows.
    """
    asked = {ALL_TABLES: rows} if isinstance(rows, int) else dict(rows)
    default = asked.pop(ALL_TABLES, None)
    explicit: dict[str, int] = {}
    for name, count in asked.items():
        table = schema.find(name)
        if table is None:
            raise ConfigError(f"--rows {name}={count}: no such table in the schema; use schema.table or a bare "
                              "name of the default schema")
        if not isinstance(count, int) or count < 0:
            raise ConfigError(f"--rows {name}: a row count is a whole number >= 0 (got {count!r})")
        explicit[table.qualified] = count
    known = {q: int(table_stats(schema, stats, q).get("rows") or 0) for q in schema.tables}
    factor = None
    if any(known.values()):
        ratios = sorted(explicit[q] / known[q] for q in explicit if known[q])
        if ratios:
            factor = ratios[len(ratios) // 2]
        elif default is not None:
            factor = default / max(known.values())
    if default is None and factor is None and len(explicit) < len(schema.tables):
        raise ConfigError("--rows: give N (every table) or TABLE=N for each table; with snapshot statistics "
                          "TABLE=N for some tables is enough")
    out = {}
    for q in schema.tables:
        if q in explicit:
            out[q] = explicit[q]
        elif factor is not None and q in known and known[q]:
            out[q] = max(1, round(known[q] * factor))
        elif factor is not None and stats:
            out[q] = 0 if default is None else default
        else:
            out[q] = default or 0
    return out


@dataclass
class TablePlan:
    """How one table's keys are made."""

    table: TableInfo
    fks: list[Edge]
    sequences: set[str] = field(default_factory=set)  # unique by construction (sequence / bijection)
    joint: list[list[Edge]] = field(default_factory=list)  # FKs drawn as distinct combinations
    distinct: list[Edge] = field(default_factory=list)  # FKs drawn without replacement (one-to-one)
    keys: set[str] = field(default_factory=set)  # generated structurally: no strategy applies
    notes: list[str] = field(default_factory=list)

    def cap(self, n: int, parent_rows: dict[str, int]) -> int:
        """The most rows the keys allow: distinct FK draws cannot exceed what their parents offer."""
        limit = n
        for group in self.joint:
            limit = min(limit, math.prod(parent_rows.get(e.parent, 0) for e in group))
        for edge in self.distinct:
            limit = min(limit, parent_rows.get(edge.parent, 0))
        for edge in self.fks:
            if not edge.nullable and edge.parent != self.table.qualified and not parent_rows.get(edge.parent):
                limit = 0
        if limit < n:
            self.notes.append(f"{self.table.qualified}: {limit} rows instead of {n}: its keys allow no more "
                              "(distinct references to parents, or a NOT NULL reference to an empty table)")
        return limit


def plan_table(table: TableInfo, fks: list[Edge], referenced: set[str], kinds: dict[str, str],
               has_choices: set[str]) -> TablePlan:
    plan = TablePlan(table=table, fks=fks)
    fk_columns = {c for e in fks for c in e.fk.columns}
    plan.keys = set(fk_columns) | referenced
    sets = [tuple(table.primary_key)] if table.primary_key else []
    sets += [s for s in table.unique_sets if s not in sets]
    for cols in sets:
        plan.keys.update(cols)
        if any(c in plan.sequences for c in cols):
            continue
        free = sorted((c for c in cols if c not in fk_columns and kinds[c] not in NOT_SEQUENCEABLE
                       and c not in has_choices), key=lambda c: kinds[c] != "int")  # ids before dates
        if free:
            plan.sequences.add(free[0])
            continue
        covering = [e for e in fks if set(e.fk.columns) & set(cols) and e.parent != table.qualified]
        if not covering:
            plan.notes.append(f"{table.qualified}: UNIQUE ({', '.join(cols)}) has no column that can be made "
                              "distinct; rows may repeat")
        elif len(covering) == 1:
            plan.distinct.append(covering[0])
        else:
            plan.joint.append(covering)
    return plan


def effective_fks(table: TableInfo, extra: list[ForeignKey]) -> list[ForeignKey]:
    """A partitioned table's own FKs plus those declared on its partitions (Pagila declares them there)."""
    seen, out = set(), []
    for fk in [*table.foreign_keys, *extra]:
        key = (fk.columns, fk.referred_table, fk.referred_columns)
        if key not in seen:
            seen.add(key)
            out.append(fk)
    return out
