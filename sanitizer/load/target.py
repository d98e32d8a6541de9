"""Write sanitized batches into staging so that staging changes all at once or not at all.

PostgreSQL: everything happens in ONE transaction on the target, so a failure or a killed process
rolls all of it back and readers only ever see the old complete staging or the new one. From a
PostgreSQL source the schema is the source's own, from pg_dump (load/pg_rebuild.py: live schemas
renamed away, DDL run verbatim, rows, then keys/indexes/FKs/triggers, sequence values, matview data,
old schemas dropped). From another source, or without a usable pg_dump, shadow schemas are built from
the reflected tables (keys and indexes only) and renamed over the live ones at commit.
SQLite: a temporary file beside the target, renamed over it.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL
from sqlalchemy.schema import AddConstraint, CreateTable

from ..errors import Busy, ConfigError, LoadError
from ..schema.model import TableInfo
from ..schema.pgddl import SchemaDDL
from ..schema.wire import encode
from ..source.pg_copy import is_binary_wire, quote_ident, write_binary_batch, write_csv_batch
from ..source.reader import PG_DDL, short_reason
from ..urls import redact
from . import pg_rebuild

SHADOW_PREFIX = "sanitizer_new_"
OLD_PREFIX = "sanitizer_old_"
LOCK_KEY = 0x53414E4954  # "SANIT": one refresh per target database at a time
NEXTVAL = re.compile(r"nextval\('(?P<name>[^']+)'(?:::regclass)?\)")


class Target:
    """Base of the staging writers; use as a context manager, call commit() to publish."""

    wants_wire = False  # True: takes PostgreSQL text columns as they come from the COPY path

    def __init__(self, url: URL) -> None:
        self.url = url
        self.rows_written: dict[str, int] = {}
        self._committed = False

    def __enter__(self) -> Target:
        self.open()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if not self._committed:
            self.abort()

    def open(self) -> None: ...
    def create(self, tables: list[tuple[TableInfo, sa.Table]]) -> None: ...
    def write(self, info: TableInfo, batch: pa.RecordBatch) -> None: ...
    def finalize(self, sequences: dict[str, tuple[int, bool]]) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...

    def _count(self, info: TableInfo, rows: int) -> None:
        self.rows_written[info.qualified] = self.rows_written.get(info.qualified, 0) + rows


def open_target(url: URL) -> Target:
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PostgresTarget(url)
    if backend == "sqlite":
        return SQLiteTarget(url)
    if backend == "mysql":
        from .mysql_target import MySQLTarget  # here: mysql_target imports this module

        return MySQLTarget(url)
    raise ConfigError(f"--target {redact(url)}: {backend} staging targets are not implemented yet; use "
                      "postgresql, mysql or sqlite, or --out DIR")


class PostgresTarget(Target):
    wants_wire = True
    def open(self) -> None:
        self._engine = sa.create_engine(self.url)
        try:
            self._conn = self._engine.connect()
            self._conn.begin()
            got = self._conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}).scalar()
        except sa.exc.SQLAlchemyError as exc:
            raise LoadError(f"cannot connect to target {redact(self.url)}: {short_reason(exc)}") from exc
        if not got:
            raise Busy(f"target {redact(self.url)}: another sanitizer run is loading it; try again when it ends")
        self._tables: dict[str, sa.Table] = {}
        self._schemas: list[str] = []
        self._deferred: list[tuple[sa.Table, str, str]] = []
        self._ddl: SchemaDDL | None = None  # set: the source's own DDL is used (rename-away design)
        self._old: list[str] = []
        self._generated: dict[str, set[str]] = {}
        # staging is rebuilt from scratch: a crash loses nothing that the next run would not redo
        self._conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        self._conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        self._drop_leftovers()

    @property
    def connection(self) -> sa.Connection:
        """The target transaction: whatever is written here commits, or rolls back, with the swap."""
        return self._conn

    @property
    def schema_map(self) -> dict[str, str]:
        """Live schema -> the schema that replaces it at commit (its own name with the source's DDL:
        the live one was renamed away inside this transaction)."""
        if self._ddl is not None:
            return {schema: schema for schema in self._schemas}
        return {schema: shadow(schema) for schema in self._schemas}

    def _drop_leftovers(self) -> None:
        names = self._conn.execute(sa.text(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sanitizer\\_new\\_%' "
            "OR nspname LIKE 'sanitizer\\_old\\_%'")).scalars().all()
        for name in names:
            self._conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')

    def create(self, tables: list[tuple[TableInfo, sa.Table]], ddl: SchemaDDL | None = None) -> None:
        """Create the staging schema; with the source's DDL (given, or offered by a PostgreSQL Source on
        its MetaData) the schema is the source's, else rebuilt from the reflected tables."""
        if ddl is None and tables:
            provider = tables[0][1].metadata.info.get(PG_DDL)
            ddl = provider() if provider is not None else None
        if ddl is not None:
            self._create_from_ddl(tables, ddl)
            return
        metadata = sa.MetaData()
        schemas = sorted({t.schema or "public" for _, t in tables})
        self._schemas = schemas
        try:
            for schema in schemas:
                self._conn.exec_driver_sql(f'CREATE SCHEMA "{shadow(schema)}"')
            for info, table in tables:
                self._tables[info.qualified] = table.to_metadata(
                    metadata, schema=shadow(table.schema or "public"),
                    referred_schema_fn=lambda _t, _to, _c, referred: shadow(referred or "public"),
                )
            for copy in self._tables.values():
                self._rewrite_sequences(copy)
                self._create_types(copy)
                self._conn.execute(CreateTable(copy, include_foreign_key_constraints=[]))
                self._defer_keys(copy)
        except sa.exc.SQLAlchemyError as exc:
            raise LoadError(f"creating staging tables failed: {short_reason(exc)}") from exc

    def _create_from_ddl(self, tables: list[tuple[TableInfo, sa.Table]], ddl: SchemaDDL) -> None:
        self._ddl, self._schemas = ddl, list(ddl.schemas)
        try:
            self._old = pg_rebuild.rename_away(self._conn, self._schemas)
            pg_rebuild.create_schemas(self._conn, ddl, self._old)
            pg_rebuild.run_script(self._conn, ddl.pre_data_without_schemas())
            self._generated = pg_rebuild.generated_columns(self._conn, self._schemas)
        except Exception as exc:  # psycopg or SQLAlchemy: the message names the object, not data
            raise LoadError(f"creating the staging schema from the source's DDL failed: {short_reason(exc)}") \
                from exc
        for info, table in tables:  # same names as the source: the live schemas were renamed away
            self._tables[info.qualified] = table

    def _create_types(self, table: sa.Table) -> None:
        """The named types the table's columns use (enums, domains, also as array elements), in the
        shadow schema with it: CREATE TABLE does not make them, and the swap moves them along."""
        for column in table.columns:
            kind = column.type.item_type if isinstance(column.type, sa.ARRAY) else column.type
            if isinstance(kind, sa.Enum | postgresql.DOMAIN) and getattr(kind, "name", None):
                kind.create(self._conn, checkfirst=True)

    def _defer_keys(self, table: sa.Table) -> None:
        """Drop PRIMARY KEY and UNIQUE constraints until the data is in (as pg_restore does): one index
        build at the end is much cheaper than maintaining it row by row."""
        rows = self._conn.execute(sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u') ORDER BY contype, conname"),
            {"t": f"{quote_ident(table.schema)}.{quote_ident(table.name)}"}).all()
        for name, definition in rows:
            self._conn.exec_driver_sql(f"ALTER TABLE {quote_ident(table.schema)}.{quote_ident(table.name)} "
                                       f"DROP CONSTRAINT {quote_ident(name)}")
            self._deferred.append((table, name, definition))

    def _rewrite_sequences(self, table: sa.Table) -> None:
        """Give serial columns their own sequence in the shadow schema (it moves with the swap)."""
        for column in table.columns:
            default = column.server_default
            text = str(getattr(default, "arg", "")) if default is not None else ""
            match = NEXTVAL.search(text)
            if not match:
                continue
            seq = match.group("name").split(".")[-1].strip('"')
            self._conn.exec_driver_sql(f'CREATE SEQUENCE IF NOT EXISTS "{table.schema}"."{seq}"')
            column.server_default = sa.DefaultClause(sa.text(f"nextval('\"{table.schema}\".\"{seq}\"'::regclass)"))
            column.autoincrement = False  # else CREATE TABLE says SERIAL and makes a second sequence
            column.info["sequence"] = (f'"{table.schema}"."{seq}"', match.group("name"))

    def write(self, info: TableInfo, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        table = self._tables[info.qualified]
        skip = self._generated.get(info.qualified, ())
        pairs = [(v, c) for v, c in zip(batch.columns, info.columns, strict=True) if c.name not in skip]
        binary = is_binary_wire(batch)  # values as the source server sent them: no encoding needed
        rows = pa.RecordBatch.from_arrays([values if binary else encode(values, column) for values, column in pairs],
                                          names=[column.name for _, column in pairs])
        write = write_binary_batch if binary else write_csv_batch
        try:
            write(self._conn.connection.driver_connection, f"{quote_ident(table.schema)}.{quote_ident(table.name)}",
                  rows)
        except Exception as exc:  # psycopg errors: the message names the constraint, never our data
            raise LoadError(f"loading {info.qualified} failed: {short_reason(exc)}") from exc
        self._count(info, batch.num_rows)

    def finalize(self, sequences: dict[str, tuple[int, bool]]) -> None:
        if self._ddl is not None:
            try:
                pg_rebuild.finish(self._conn, self._ddl, sequences)
            except Exception as exc:
                raise LoadError(f"adding constraints, indexes and triggers failed: {short_reason(exc)}") from exc
            return
        try:
            for table, name, definition in self._deferred:
                self._conn.exec_driver_sql(f"ALTER TABLE {quote_ident(table.schema)}.{quote_ident(table.name)} "
                                           f"ADD CONSTRAINT {quote_ident(name)} {definition}")
            for table in self._tables.values():
                for index in table.indexes:
                    index.create(self._conn)
            with pg_rebuild.foreign_key_check_memory(self._conn):
                for table in self._tables.values():
                    for fk in table.foreign_key_constraints:
                        self._conn.execute(AddConstraint(fk))
            for table in self._tables.values():
                for column in table.columns:
                    if "sequence" in column.info:
                        shadow_seq, source_name = column.info["sequence"]
                        value = sequences.get(source_name.replace('"', ""))  # '"public".s' -> public.s
                        if value is not None:
                            self._conn.execute(sa.text("SELECT setval(:s, :v, :c)"),
                                               {"s": shadow_seq, "v": value[0], "c": value[1]})
                self._conn.exec_driver_sql(f'ANALYZE "{table.schema}"."{table.name}"')
        except sa.exc.SQLAlchemyError as exc:
            raise LoadError(f"adding constraints and indexes failed: {short_reason(exc)}") from exc

    def commit(self) -> None:
        try:
            if self._ddl is not None:
                pg_rebuild.drop_old(self._conn, self._old)
            for schema in self._schemas if self._ddl is None else ():
                exists = self._conn.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :n"),
                                            {"n": schema}).scalar()
                if exists:
                    self._conn.exec_driver_sql(f'ALTER SCHEMA "{schema}" RENAME TO "{OLD_PREFIX}{schema}"'[:200])
                self._conn.exec_driver_sql(f'ALTER SCHEMA "{shadow(schema)}" RENAME TO "{schema}"')
                if exists:
                    self._conn.exec_driver_sql(f'DROP SCHEMA "{OLD_PREFIX}{schema}" CASCADE')
            self._conn.commit()
        except sa.exc.SQLAlchemyError as exc:
            raise LoadError(f"swapping staging in failed: {short_reason(exc)}") from exc
        self._committed = True
        self._close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the connection may be gone; the server rolls back then
            self._conn.rollback()
        self._close()

    def _close(self) -> None:
        if getattr(self, "_conn", None) is not None:
            self._conn.close()
            self._engine.dispose()
            self._conn = None


def shadow(schema: str) -> str:
    return f"{SHADOW_PREFIX}{schema}"[:63]


class SQLiteTarget(Target):
    """Builds the new staging file beside the old one, then renames it over (atomic on POSIX)."""

    def open(self) -> None:
        if not self.url.database:
            raise ConfigError("--target: an SQLite target needs a file path, e.g. sqlite:///staging.db")
        self.path = Path(self.url.database).resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(self.path.name + ".sanitizer-tmp")
        self.tmp.unlink(missing_ok=True)  # leftover of a killed run
        self._engine = sa.create_engine(f"sqlite:///{self.tmp}")
        self._conn = self._engine.connect()
        self._conn.exec_driver_sql("PRAGMA journal_mode=OFF")
        self._conn.exec_driver_sql("PRAGMA synchronous=OFF")
        self._conn.commit()
        self._conn.begin()
        self._tables: dict[str, sa.Table] = {}

    def create(self, tables: list[tuple[TableInfo, sa.Table]], ddl: SchemaDDL | None = None) -> None:
        """Create the staging tables from the reflected ones (PostgreSQL's DDL does not apply here)."""
        metadata = sa.MetaData()
        try:
            for info, table in tables:
                self._tables[info.qualified] = table.to_metadata(
                    metadata, schema=None, referred_schema_fn=lambda *_: None)
            for copy in self._tables.values():
                for column in copy.columns:
                    if "nextval" in str(getattr(column.server_default, "arg", "")):
                        column.server_default = None
                self._conn.execute(CreateTable(copy))
        except sa.exc.SQLAlchemyError as exc:
            raise LoadError(f"creating staging tables failed: {short_reason(exc)}") from exc

    def write(self, info: TableInfo, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        table = self._tables[info.qualified]
        try:
            self._conn.execute(table.insert(), batch.to_pylist())
        except sa.exc.SQLAlchemyError as exc:
            raise LoadError(f"loading {info.qualified} failed: {short_reason(exc)}") from exc
        self._count(info, batch.num_rows)

    def finalize(self, sequences: dict[str, tuple[int, bool]]) -> None:
        try:
            for table in self._tables.values():
                for index in table.indexes:
                    index.create(self._conn)
            self._conn.exec_driver_sql("ANALYZE")
        except sa.exc.SQLAlchemyError as exc:
            raise LoadError(f"adding indexes failed: {short_reason(exc)}") from exc

    def commit(self) -> None:
        self._conn.commit()
        self._conn.close()
        self._engine.dispose()
        os.replace(self.tmp, self.path)
        self._committed = True

    def abort(self) -> None:
        try:
            self._conn.close()
            self._engine.dispose()
        finally:
            self.tmp.unlink(missing_ok=True)
