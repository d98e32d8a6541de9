"""The foreign-key graph: which table must be loaded before which, and which edges a cycle forces open.

Both generation and subsetting walk the same graph. A load order exists only when every cycle has an
edge that can wait: a nullable FK (filled with NULL, or later) or, as a last resort, a NOT NULL one
(then the data is still consistent, but only a loader that adds or defers FKs after the rows can take
it — as `run`'s PostgreSQL target does). Self-references never block an order: a table's own rows are
written in one statement, and generated self-references point to earlier rows only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..schema.model import ForeignKey, SchemaInfo, TableInfo


@dataclass(frozen=True)
class Edge:
    """One FK: rows of `child` reference rows of `parent`."""

    child: str
    parent: str
    fk: ForeignKey
    nullable: bool  # every FK column nullable: the reference may be left out

    @property
    def label(self) -> str:
        return f"{self.child}({', '.join(self.fk.columns)}) -> {self.parent}"


@dataclass(frozen=True)
class Order:
    tables: tuple[str, ...]  # parents before children
    opened: frozenset[Edge]  # nullable edges a cycle forced open
    hard: frozenset[Edge]  # NOT NULL edges a cycle forced open: load with FKs deferred or added after


def resolve(schema: SchemaInfo, name: str) -> str | None:
    """A referred table's qualified name as the schema holds it, or None when it is not there."""
    table = schema.find(name)
    return table.qualified if table is not None else None


def edges(schema: SchemaInfo, fks_of: dict[str, Iterable[ForeignKey]] | None = None) -> list[Edge]:
    """Every FK between tables of the schema, self-references included; `fks_of` replaces a table's own."""
    out = []
    for table in schema.tables.values():
        for fk in (fks_of or {}).get(table.qualified, table.foreign_keys):
            parent = resolve(schema, fk.referred_table)
            if parent is not None:
                out.append(Edge(table.qualified, parent, fk, _nullable(table, fk)))
    return out


def _nullable(table: TableInfo, fk: ForeignKey) -> bool:
    return all(table.column(c).nullable for c in fk.columns)


def load_order(tables: Iterable[str], all_edges: Iterable[Edge]) -> Order:
    """Kahn's order with sorted ties (reproducible); a stuck step opens one edge of a cycle and retries."""
    names = sorted(set(tables))
    live = [e for e in all_edges if e.child != e.parent and e.child in names and e.parent in names]
    opened: set[Edge] = set()
    hard: set[Edge] = set()
    while True:
        order, rest = _kahn(names, [e for e in live if e not in opened and e not in hard])
        if not rest:
            return Order(tuple(order), frozenset(opened), frozenset(hard))
        cyclic = [e for e in live if e.child in rest and e.parent in rest and e not in opened and e not in hard
                  and _reaches(e.parent, e.child, [x for x in live if x not in opened and x not in hard])]
        cyclic.sort(key=lambda e: (not e.nullable, e.label))
        (opened if cyclic[0].nullable else hard).add(cyclic[0])


def _kahn(names: list[str], live: list[Edge]) -> tuple[list[str], set[str]]:
    parents = {n: {e.parent for e in live if e.child == n} for n in names}
    done: list[str] = []
    placed: set[str] = set()
    progress = True
    while progress:
        progress = False
        for name in names:
            if name not in placed and parents[name] <= placed:
                done.append(name)
                placed.add(name)
                progress = True
    return done, set(names) - placed


def _reaches(start: str, goal: str, live: list[Edge]) -> bool:
    """True when `goal` is an ancestor-or-self walk away from `start` following child -> parent edges."""
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for e in live:
            if e.child == node and e.parent not in seen:
                seen.add(e.parent)
                stack.append(e.parent)
    return False
