"""What generation needs beyond SchemaInfo: enum labels, domain and CHECK bounds, array elements, partitions.

SchemaInfo is driver-neutral on purpose and carries none of these, yet each decides whether a generated
row loads: an enum column takes only its labels, a domain its base type within its CHECK, a partitioned
table only keys some partition accepts. `hints_from_source` reads them from a live (read-only) source;
a schema snapshot can carry the same record (see docs/synth.md) so `synth --schema` needs no database.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from ..schema.model import ForeignKey
from ._checks import Bound, parse_check

PARTITION_FROM_TO = re.compile(r"FOR VALUES FROM \((.*)\) TO \((.*)\)", re.S)
PARTITION_IN = re.compile(r"FOR VALUES IN \((.*)\)", re.S)
PARTITION_KEY = re.compile(r"^(RANGE|LIST|HASH) \((\"[^\"]+\"|\w+)\)$")


@dataclass(frozen=True)
class ColumnHint:
    """How to generate one column when its declared type says too little."""

    type_name: str | None = None  # the base type for a DOMAIN ("INTEGER"), else None: use the column's
    element: str | None = None  # array element type name ("TEXT", "INTEGER")
    bound: Bound | None = None  # CHECK / domain / enum / partition limits


@dataclass
class SynthHints:
    columns: dict[tuple[str, str], ColumnHint] = field(default_factory=dict)  # (table, column) -> hint
    routed: dict[str, str] = field(default_factory=dict)  # partition -> root partitioned table
    foreign_keys: dict[str, list[ForeignKey]] = field(default_factory=dict)  # root -> FKs its partitions declare
    notes: list[str] = field(default_factory=list)

    def column(self, table: str, name: str) -> ColumnHint:
        return self.columns.get((table, name), ColumnHint())

    def to_dict(self) -> dict:
        """JSON-ready form, for a schema snapshot to carry (`synth_hints`) so `synth --schema` needs no database."""
        return {"columns": [{"table": t, "column": c, **{k: v for k, v in asdict(h).items() if v is not None}}
                            for (t, c), h in self.columns.items()],
                "routed": self.routed,
                "foreign_keys": {root: [asdict(fk) for fk in fks] for root, fks in self.foreign_keys.items()},
                "notes": self.notes}

    @classmethod
    def from_dict(cls, doc: dict) -> SynthHints:
        hints = cls(routed=dict(doc.get("routed", {})), notes=list(doc.get("notes", [])))
        for entry in doc.get("columns", []):
            bound = entry.get("bound")
            if bound is not None and bound.get("choices") is not None:
                bound = {**bound, "choices": tuple(bound["choices"])}
            hints.columns[(entry["table"], entry["column"])] = ColumnHint(
                type_name=entry.get("type_name"), element=entry.get("element"),
                bound=Bound(**bound) if bound is not None else None)
        for root, fks in doc.get("foreign_keys", {}).items():
            hints.foreign_keys[root] = [ForeignKey(tuple(fk["columns"]), fk["referred_table"],
                                                   tuple(fk["referred_columns"])) for fk in fks]
        return hints

    def add_bound(self, table: str, name: str, bound: Bound) -> None:
        hint = self.column(table, name)
        self.columns[(table, name)] = replace(hint, bound=bound if hint.bound is None else hint.bound.merge(bound))


def hints_from_source(source) -> SynthHints:
    """Read enum labels, domains, arrays, simple CHECKs and partitions from an open `Source`."""
    hints = SynthHints()
    for info in source.schema.tables.values():
        table = source.sa_table(info)
        for column in table.columns:
            _type_hint(hints, info.qualified, column.name, column.type)
        for constraint in table.constraints:
            if isinstance(constraint, sa.CheckConstraint):
                _check_hint(hints, info.qualified, constraint.name, str(constraint.sqltext))
    if source.connection.dialect.name == "postgresql":
        _partitions(hints, source)
    return hints


def _type_hint(hints: SynthHints, table: str, name: str, type_: sa.types.TypeEngine) -> None:
    if isinstance(type_, pg.DOMAIN):
        base = type_.data_type
        hints.columns[(table, name)] = ColumnHint(type_name=_name(base), element=_element(base))
        if type_.check is not None:
            bounds, why = parse_check(str(type_.check))
            if why:
                hints.notes.append(f"{table}.{name}: domain {type_.name} CHECK skipped ({why})")
            elif "VALUE" in bounds:
                hints.add_bound(table, name, bounds["VALUE"])
        if not isinstance(base, sa.Enum):
            return
        type_ = base
    if isinstance(type_, sa.Enum) and type_.enums:
        hints.add_bound(table, name, Bound(choices=tuple(type_.enums)))
    elif isinstance(type_, sa.ARRAY):
        hints.columns[(table, name)] = replace(hints.column(table, name), element=_name(type_.item_type))


def _name(type_: sa.types.TypeEngine) -> str:
    if isinstance(type_, sa.ARRAY):
        return "ARRAY"
    if isinstance(type_, sa.Enum):
        return "TEXT"
    try:
        return str(type_.compile(dialect=pg.dialect()))
    except Exception:  # a type the PostgreSQL compiler cannot render: its class name says enough
        return type(type_).__name__.upper()


def _element(type_: sa.types.TypeEngine) -> str | None:
    return _name(type_.item_type) if isinstance(type_, sa.ARRAY) else None


def _check_hint(hints: SynthHints, table: str, name: str | None, text: str) -> None:
    bounds, why = parse_check(text)
    if why:
        hints.notes.append(f"{table}: CHECK {name or ''} skipped ({why}); rows may violate it".replace("  ", " "))
    for column, bound in bounds.items():
        hints.add_bound(table, column, bound)


def _partitions(hints: SynthHints, source) -> None:
    """Rows of a partitioned table go through its root; the union of the partitions' bounds limits the key."""
    rows = source.connection.exec_driver_sql(
        "SELECT cn.nspname, c.relname, pn.nspname, p.relname, pg_get_expr(c.relpartbound, c.oid), "
        "pg_get_partkeydef(p.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_namespace cn ON cn.oid = c.relnamespace JOIN pg_class p ON p.oid = i.inhparent "
        "JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE p.relkind = 'p' ORDER BY 1, 2").all()
    parent_of = {f"{r[0]}.{r[1]}": f"{r[2]}.{r[3]}" for r in rows}
    by_root: dict[str, list[tuple[str, str]]] = {}
    for child_ns, child, parent_ns, parent, bound, keydef in rows:
        root = f"{parent_ns}.{parent}"
        while root in parent_of:
            root = parent_of[root]
        hints.routed[f"{child_ns}.{child}"] = root
        for fk in sa.inspect(source.connection).get_foreign_keys(child, schema=child_ns):
            referred = f"{fk['referred_schema'] or child_ns}.{fk['referred_table']}"
            lifted = ForeignKey(tuple(fk["constrained_columns"]), referred, tuple(fk["referred_columns"]))
            if lifted not in hints.foreign_keys.setdefault(root, []):
                hints.foreign_keys[root].append(lifted)
        if root == f"{parent_ns}.{parent}":
            by_root.setdefault(root, []).append((bound or "", keydef or ""))
    for root, parts in by_root.items():
        key = PARTITION_KEY.match(parts[0][1])
        if not key or key[1] == "HASH":
            continue
        column = key[2].strip('"')
        if any(b == "DEFAULT" for b, _ in parts):
            continue
        try:
            bound = _range_bound(parts) if key[1] == "RANGE" else _list_bound(parts)
        except ValueError:
            hints.notes.append(f"{root}: partition bounds not understood; rows may fit no partition")
            continue
        if bound is not None:
            hints.add_bound(root, column, bound)


def _range_bound(parts: list[tuple[str, str]]) -> Bound | None:
    """The span from the lowest FROM to the highest TO (partitions assumed contiguous: gaps are noted nowhere)."""
    lows, highs = [], []
    for text, _ in parts:
        m = PARTITION_FROM_TO.fullmatch(text.strip())
        if not m or "," in m[1]:
            raise ValueError(text)
        lows.append(None if "MINVALUE" in m[1] else _unquote(m[1]))
        highs.append(None if "MAXVALUE" in m[2] else _unquote(m[2]))
    low = None if None in lows else min(lows, key=_sort_key)
    high = None if None in highs else max(highs, key=_sort_key)
    return Bound(low=low, high=high, high_open=True)


def _list_bound(parts: list[tuple[str, str]]) -> Bound:
    values: list[object] = []
    for text, _ in parts:
        m = PARTITION_IN.fullmatch(text.strip())
        if not m:
            raise ValueError(text)
        values += [_unquote(v) for v in m[1].split(",") if v.strip() != "NULL"]
    return Bound(choices=tuple(values))


def _unquote(text: str) -> object:
    text = text.strip()
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def _sort_key(value: object) -> object:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return value
    return value


__all__ = ["ColumnHint", "SynthHints", "hints_from_source"]
