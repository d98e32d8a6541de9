"""Read a database's schema with SQLAlchemy into SchemaInfo (for the stages) and MetaData (for DDL)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import SourceError
from .model import ColumnInfo, ForeignKey, SchemaInfo, TableInfo
from .types import arrow_type_for

SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}
OWN_SCHEMA_PREFIX = "sanitizer_"


def user_schemas(conn: Connection) -> list[str | None]:
    """The schemas whose tables are data: [None] for SQLite/MySQL (the database itself)."""
    if conn.dialect.name != "postgresql":
        return [None]
    names = sa.inspect(conn).get_schema_names()
    return [
        n for n in names
        if n not in SYSTEM_SCHEMAS and not n.startswith("pg_") and not n.startswith(OWN_SCHEMA_PREFIX)
    ]


def reflect(conn: Connection) -> tuple[SchemaInfo, sa.MetaData]:
    """Reflect every user table (not views) inside the caller's transaction."""
    metadata = sa.MetaData()
    dialect = conn.dialect.name
    default_schema = conn.dialect.default_schema_name if dialect == "postgresql" else None
    try:
        for schema in user_schemas(conn):
            skip = _partitions(conn, schema)  # read and written through their parent (source/partitions.py)
            metadata.reflect(bind=conn, schema=schema, views=False, resolve_fks=False,
                             only=lambda name, _meta, skip=skip: name not in skip)
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"cannot read the source schema: {type(exc.orig or exc).__name__}") from exc
    tables = {}
    for table in metadata.tables.values():
        info = table_info(table, qualify=dialect == "postgresql")
        tables[info.qualified] = info
    return SchemaInfo(dialect=dialect, default_schema=default_schema, tables=tables), metadata


def _partitions(conn: Connection, schema: str | None) -> set[str]:
    if conn.dialect.name != "postgresql":
        return set()
    return set(conn.execute(sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s AND c.relispartition"), {"s": schema}).scalars())


def table_info(table: sa.Table, *, qualify: bool) -> TableInfo:
    """Plain str names (SQLAlchemy reflects quoted_name): a TableInfo pickled to a worker process then
    needs no SQLAlchemy there (0.2 s of imports per worker)."""
    schema = str(table.schema) if qualify and table.schema is not None else None
    name = str(table.name)
    qualified = f"{schema}.{name}" if schema else name
    pk = tuple(str(c.name) for c in table.primary_key.columns)
    unique_sets = [tuple(str(c.name) for c in uc.columns) for uc in table.constraints
                   if isinstance(uc, sa.UniqueConstraint) and not isinstance(uc, sa.PrimaryKeyConstraint)]
    unique_sets += [tuple(str(c.name) for c in ix.columns) for ix in table.indexes if ix.unique and ix.columns]
    single_unique = {s[0] for s in unique_sets if len(s) == 1} | ({pk[0]} if len(pk) == 1 else set())
    columns = tuple(
        ColumnInfo(
            table=qualified,
            name=str(col.name),
            type_name=_type_name(col.type),
            arrow_type=arrow_type_for(col.type),
            nullable=bool(col.nullable),
            max_length=getattr(col.type, "length", None) if isinstance(col.type, sa.String) else None,
            unique=col.name in single_unique,
            primary_key=col.name in pk,
        )
        for col in table.columns
        if col.computed is None  # generated: the database computes it from the sanitized columns
    )
    fks = []
    for fk in table.foreign_key_constraints:
        target = fk.elements[0].target_fullname.rsplit(".", 1)[0] if fk.elements else ""
        if not qualify and "." in target:
            target = target.rsplit(".", 1)[-1]
        fks.append(ForeignKey(
            columns=tuple(str(c) for c in fk.column_keys),
            referred_table=str(target),
            referred_columns=tuple(str(e.target_fullname.rsplit(".", 1)[1]) for e in fk.elements),
        ))
    return TableInfo(schema=schema, name=name, columns=columns, primary_key=pk,
                     unique_sets=tuple(unique_sets), foreign_keys=tuple(fks))


def _type_name(type_: sa.types.TypeEngine) -> str:
    try:
        return str(type_.compile())
    except Exception:  # a dialect-only type the default compiler cannot render
        return type(type_).__name__.upper()
