"""sa.Table objects rebuilt from TableInfo records, for a target that has no DDL of the source's own.

`sanitizer load --from DIR` knows a table only by its recorded facts (schema.snapshot.table_facts): the
columns' Arrow types, the database's type names, lengths, NULLability, primary key, UNIQUE sets and
foreign keys. The SQLAlchemy type chosen for each column holds every value of its Arrow type exactly, and
follows the cross-dialect mapping of `run` (schema/portable.py, docs/types.md) where the type name says
more than the Arrow type: integer widths, TINYINT(1) as BOOLEAN, JSON, UUID, unbounded NUMERIC.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from .model import ColumnInfo, SchemaInfo, TableInfo

_WORDS = re.compile(r"[A-Z0-9_]+")


def sa_type(column: ColumnInfo, dialect: str) -> sa.types.TypeEngine:
    """The column type for `dialect` that holds the column's Arrow values without loss."""
    arrow, name = column.arrow_type, column.type_name.upper()
    words = set(_WORDS.findall(name))
    if pa.types.is_boolean(arrow) or name.replace(" ", "") == "TINYINT(1)":
        return sa.Boolean()
    if pa.types.is_integer(arrow):
        return _integer(words)
    if pa.types.is_floating(arrow):
        return sa.Double()
    if pa.types.is_decimal(arrow):
        return sa.Numeric(arrow.precision, arrow.scale)
    if pa.types.is_timestamp(arrow):
        return sa.DateTime(timezone=arrow.tz is not None)
    if pa.types.is_date(arrow):
        return sa.Date()
    if pa.types.is_time(arrow):
        return sa.Time()
    if pa.types.is_duration(arrow):
        return sa.Interval()
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow):
        return sa.LargeBinary()
    # text: JSON, UUIDs and unbounded NUMERIC travel as text; elsewhere only PostgreSQL has the types
    if dialect == "postgresql" and words & {"JSON", "JSONB"}:
        return sa.JSON()
    if dialect == "postgresql" and words & {"UUID", "UNIQUEIDENTIFIER"}:
        return sa.Uuid()
    if dialect == "postgresql" and words & {"NUMERIC", "DECIMAL"}:
        return sa.Numeric()
    if dialect == "postgresql" and "INTERVAL" in words:  # carried as PostgreSQL's text form (schema/types.py)
        return sa.Interval()
    if column.max_length:
        return sa.String(column.max_length)
    return sa.Text()


def _integer(words: set[str]) -> sa.types.TypeEngine:
    """The integer width the type name asks for; UNSIGNED takes the next wider one (no value can overflow)."""
    if words & {"BIGINT", "INT8", "BIGSERIAL"}:
        return sa.BigInteger()
    small = bool(words & {"SMALLINT", "INT2", "TINYINT", "SMALLSERIAL"})
    if "UNSIGNED" in words:
        return sa.Integer() if small else sa.BigInteger()
    return sa.SmallInteger() if small else sa.Integer()


def sa_tables(schema: SchemaInfo, dialect: str, serial_columns: dict[str, dict[str, str]] | None = None,
              indexes: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, sa.Table]:
    """One sa.Table per recorded table (by qualified name), with PK, UNIQUE, resolvable foreign keys and
    the plain indexes given (table -> [{"name", "columns"}]).

    SQLite has one namespace: tables lose their schema there (and a repeated index name is made unique).
    `serial_columns` (table -> column -> the source's sequence name) gives those columns their nextval()
    default, so that a PostgreSQL target restores the sequence and its value.
    """
    metadata = sa.MetaData()
    serial_columns, indexes = serial_columns or {}, indexes or {}
    index_names: set[tuple[str | None, str]] = set()
    tables: dict[str, sa.Table] = {}
    for name, info in schema.tables.items():
        columns = []
        for column in info.columns:
            sequence = serial_columns.get(name, {}).get(column.name) if dialect == "postgresql" else None
            if sequence and set(sequence) & set("'\""):  # a name the target's sequence rewriting cannot take
                sequence = None
            default = sa.DefaultClause(sa.text(f"nextval('{sequence}'::regclass)")) if sequence else None
            columns.append(sa.Column(column.name, sa_type(column, dialect), nullable=column.nullable
                                     and column.name not in info.primary_key, server_default=default,
                                     autoincrement=False))
        table = sa.Table(info.name, metadata, *columns, schema=None if dialect == "sqlite" else info.schema)
        if info.primary_key:
            table.append_constraint(sa.PrimaryKeyConstraint(*info.primary_key))
        for unique in _unique_sets(info):
            table.append_constraint(sa.UniqueConstraint(*unique))
        for index in indexes.get(name, []):
            index_name, n = str(index["name"]), 1
            while (table.schema, index_name) in index_names:
                n += 1
                index_name = f"{index['name']}_{n}"
            index_names.add((table.schema, index_name))
            sa.Index(index_name, *(table.c[c] for c in index["columns"]))
        tables[name] = table
    for name, info in schema.tables.items():
        for fk in info.foreign_keys:
            referred = schema.find(fk.referred_table)
            if referred is None:  # a table the snapshot does not hold: nothing to reference
                continue
            parent = tables[referred.qualified]
            tables[name].append_constraint(sa.ForeignKeyConstraint(
                list(fk.columns), [parent.c[c] for c in fk.referred_columns]))
    return tables


def _unique_sets(info: TableInfo) -> list[tuple[str, ...]]:
    """UNIQUE sets once each, without the primary key's own."""
    seen = {tuple(sorted(info.primary_key))} if info.primary_key else set()
    found = []
    for unique in info.unique_sets:
        key = tuple(sorted(unique))
        if unique and key not in seen:
            seen.add(key)
            found.append(tuple(unique))
    return found
