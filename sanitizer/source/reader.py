"""Read the source inside one consistent, read-only transaction, as Arrow record batches."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from ..errors import SourceError
from ..pool_start import ESTIMATE_SQL
from ..schema.model import SchemaInfo, TableInfo
from ..schema.pgddl import SchemaDDL, dump_schema
from ..schema.reflect import reflect, user_schemas
from ..urls import redact
from .partitions import leaf_batches, partitioned_leaves
from .pg_copy import (
    PsqlFailed,
    binary_copy_available,
    copy_batches,
    find_psql,
    psql_copy_batches,
    psql_copy_binary_batches,
    qualified_name,
)
from .ranges import ctid_ranges, in_order, range_pages

SNAPSHOT = "sanitizer_snapshot"  # Connection.info key: the id pg_export_snapshot() gave, if any
PG_DDL = "sanitizer_pg_ddl"  # MetaData.info key: callable -> SchemaDDL | None (read by PostgresTarget)
MYSQL_DDL = "sanitizer_mysql_ddl"  # MetaData.info key: callable -> {table: SHOW CREATE TABLE} (MySQLTarget)

DEFAULT_BATCH_ROWS = 50_000
SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+")  # what pg_export_snapshot() returns
BINARY_AS_TEXT = {25, 1043, 1042, 19, 114}  # text, varchar, bpchar, name, json: binary form = text
FIRST_USER_OID = 16384  # PostgreSQL's FirstNormalObjectId: below it, built-in types with fixed ids


class Source:
    """A read-only snapshot of the source database; use as a context manager."""

    def __init__(self, url: URL, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        self.url = url
        self.batch_rows = batch_rows
        self._engine: sa.Engine | None = None
        self._conn: Connection | None = None
        self.schema: SchemaInfo | None = None
        self.metadata: sa.MetaData | None = None
        self._leaves: dict[str, list[tuple[str, str]]] = {}
        self._ddl: tuple[SchemaDDL | None] | None = None
        self._column_types: dict[str, dict[str, tuple]] | None = None  # schema.table -> column -> type facts
        self.table_readers = 1  # psql COPYs reading one big table's block ranges at once (ranges.py)

    def __enter__(self) -> Source:
        self._engine = read_only_engine(self.url)
        try:
            conn = self._engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f"cannot connect to source {redact(self.url)}: {short_reason(exc)}") from exc
        self._conn = begin_read_only(conn)
        self.schema, self.metadata = reflect(self._conn)
        if self._conn.dialect.name == "postgresql":
            self._leaves = partitioned_leaves(self._conn)
            # the target finds the source's DDL here without a new parameter through the pipeline
            self.metadata.info[PG_DDL] = self.pg_ddl
        elif self._conn.dialect.name == "mysql":  # the staging tables' own DDL: counters, CHECKs, charsets
            self.metadata.info[MYSQL_DDL] = ddl_provider(self._conn, [t.name for t in self.metadata.tables.values()])
        return self

    def pg_ddl(self) -> SchemaDDL | None:
        """The source's schema as pg_dump writes it, in the snapshot of the rows when it could be exported."""
        if self._ddl is None:
            conn = self.connection
            self._ddl = (dump_schema(conn, self.url, [s for s in user_schemas(conn) if s],
                                     conn.info.get(SNAPSHOT)),)
        return self._ddl[0]

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.rollback()
            self._conn.close()
        if self._engine is not None:
            self._engine.dispose()

    @property
    def connection(self) -> Connection:
        assert self._conn is not None, "Source used outside its with-block"
        return self._conn

    def sa_table(self, info: TableInfo) -> sa.Table:
        assert self.metadata is not None
        key = f"{info.schema}.{info.name}" if info.schema else info.name
        return self.metadata.tables[key]

    def estimated_rows(self) -> int | None:
        """The planner's row estimate over all tables (PostgreSQL's pg_class.reltuples): free, no scan."""
        if self.connection.dialect.name != "postgresql":
            return None
        total = self.connection.exec_driver_sql(ESTIMATE_SQL).scalar()
        return int(total or 0)

    def estimated_table_rows(self) -> dict[str, int]:
        """The planner's row estimate per table (PostgreSQL), for a progress line's time left; else empty."""
        if self.connection.dialect.name != "postgresql":
            return {}
        rows = self.connection.exec_driver_sql(
            "SELECT n.nspname || '.' || c.relname, greatest(c.reltuples, 0)::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')").all()
        default = self.schema.default_schema if self.schema else None
        found = {}
        for name, count in rows:
            found[name] = int(count)
            if default and name.startswith(f"{default}."):
                found[name.split(".", 1)[1]] = int(count)
        return found

    def count(self, info: TableInfo) -> int:
        table = self.sa_table(info)
        return int(self.connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    @property
    def wire(self) -> bool:
        """True when batches hold PostgreSQL text (the COPY path) rather than typed values."""
        return self.connection.dialect.name == "postgresql"

    def rows_query(self, info: TableInfo, where: str | None = None, query: sa.Select | None = None) -> sa.Select:
        """The SELECT of the table's columns, in order, limited by a `where:` rule and/or a subset query."""
        table = self.sa_table(info)
        if query is not None:
            sub = query.subquery()
            select = sa.select(*(sub.c[c.name] for c in info.columns))
        else:
            select = sa.select(*(table.c[c.name] for c in info.columns))
        return select.where(sa.text(where)) if where else select

    @contextmanager
    def snapshot_connections(self, count: int) -> Iterator[list[Connection]]:
        """`count` connections that all read the very snapshot of this source (this one first).

        PostgreSQL only, and only when the snapshot was exported: each extra connection opens its own
        REPEATABLE READ, READ ONLY transaction and adopts it with SET TRANSACTION SNAPSHOT, so tables
        read in parallel are as consistent as tables read one after another. Elsewhere: just this one.
        """
        snapshot = self.connection.info.get(SNAPSHOT)
        if count <= 1 or not self.wire or not snapshot or not SNAPSHOT_ID.fullmatch(snapshot):
            yield [self.connection]
            return
        extra: list[Connection] = []
        try:
            for _ in range(count - 1):
                conn = self._engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                                                postgresql_readonly=True)
                extra.append(conn)
                conn.begin()
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # no parameters in SET
        except sa.exc.SQLAlchemyError as exc:
            for conn in extra:
                conn.close()
            raise SourceError(f"cannot share the source snapshot with another reader: {short_reason(exc)}") \
                from exc
        try:
            yield [self.connection, *extra]
        finally:
            for conn in extra:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    conn.rollback()
                conn.close()

    def _pages(self, info: TableInfo, connection: Connection | None) -> int:
        """The table's size in blocks, read in the snapshot's transaction (rows it can see are in them)."""
        return int((connection or self.connection).execute(sa.text(
            "SELECT pg_relation_size(CAST(:name AS regclass)) / current_setting('block_size')::int"),
            {"name": qualified_name(info)}).scalar_one())

    def _psql_copy(self, text_columns: set[str] | None = None) -> Callable[..., Iterator[pa.RecordBatch]] | None:
        """Whole tables are read by psql in the exported snapshot when both are there (pg_copy.py), in
        the binary format when `text_columns` is given (see binary_columns) and the kernel was built."""
        snapshot = self.connection.info.get(SNAPSHOT)
        psql = find_psql() if snapshot and SNAPSHOT_ID.fullmatch(snapshot) else None
        if psql is None:
            return None
        if text_columns is not None and binary_copy_available():
            return lambda _raw, info, where="": psql_copy_binary_batches(psql, self.url, snapshot, info, text_columns,
                                                                         where=where)
        return lambda _raw, info, where="": psql_copy_batches(psql, self.url, snapshot, info, where=where)

    def binary_columns(self, info: TableInfo, read: set[str]) -> set[str] | None:
        """The text columns of a table that may be read in binary COPY form, or None when the table
        must go as text (CSV): every column that is text to Arrow or that a strategy reads (`read`)
        must have a type whose binary form is its UTF-8 text (text, varchar, char(n), name, json, enums),
        and every other column a built-in type whose binary form holds no object ids (regclass, arrays
        of user types and composites do) and that has binary send/receive functions."""
        if not self.wire:
            return None
        if self._column_types is None:  # every user table's at once: one catalog query per run
            self._column_types = {}
            for table, column, *kind in self.connection.execute(sa.text(
                    "SELECT n.nspname || '.' || c.relname, a.attname, t.oid, t.typtype, t.typname, "
                    "t.typsend <> 0 AND t.typreceive <> 0, coalesce(e.typname, '') FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type e ON e.oid = t.typelem "
                    "WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
                    "AND n.nspname NOT IN ('pg_catalog', 'information_schema')")).all():
                self._column_types.setdefault(table, {})[column] = tuple(kind)
        types = self._column_types.get(info.qualified, {})
        text = set()
        for column in info.columns:
            if column.name not in types:
                return None
            oid, kind, name, has_binary, element = types[column.name]
            if oid in BINARY_AS_TEXT or kind == "e":
                text.add(column.name)
                continue
            opaque = (has_binary and oid < FIRST_USER_OID and kind in "brm"  # built-in base, range, multirange
                      and not name.startswith(("reg", "_reg")) and not element.startswith("reg"))
            if column.is_text or column.name in read or not opaque:
                return None
        return text

    def batches(self, info: TableInfo, query: sa.Select | None = None,
                connection: Connection | None = None, binary_text: set[str] | None = None
                ) -> Iterator[pa.RecordBatch]:
        """Stream the table's rows (or those of `query`, from rows_query) as record batches of bounded size;
        `connection`: one of snapshot_connections() (default: the source's own); `binary_text`: from
        binary_columns, lets whole-table reads come in binary COPY form (only PostgresTarget takes it)."""
        if self.wire:
            try:
                raw = (connection or self.connection).connection.driver_connection
                if query is not None:
                    compiled = query.compile(dialect=(connection or self.connection).dialect)
                    yield from copy_batches(raw, info, select=(str(compiled), dict(compiled.params)))
                    return
                psql = self._psql_copy(binary_text)
                copy = psql or copy_batches
                if info.qualified in self._leaves:  # a partitioned parent: its rows are in its leaves
                    yield from leaf_batches(raw, info, self._leaves[info.qualified], copy)
                    return
                ranges = ctid_ranges(self._pages(info, connection), range_pages()) if psql else []
                if ranges:  # a big table: block ranges, each its own psql COPY in the snapshot
                    yield from in_order(ranges, lambda where: psql(raw, info, where=where), self.table_readers)
                    return
                yield from copy(raw, info)
            except (psycopg.Error, PsqlFailed) as exc:
                raise SourceError(f"reading {info.qualified} failed: {short_reason(exc)}") from exc
            return
        table = self.sa_table(info)
        schema = pa.schema([pa.field(c.name, c.arrow_type) for c in info.columns])
        converters = [_to_arrow_value(table.c[field.name].type, field.type) for field in schema]
        query = query if query is not None else sa.select(*(table.c[c.name] for c in info.columns))
        try:
            result = self.connection.execution_options(stream_results=True, yield_per=self.batch_rows).execute(query)
            for rows in result.partitions(self.batch_rows):
                columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
                arrays = []
                for values, field, convert in zip(columns, schema, converters, strict=True):
                    if convert is not None:
                        values = [None if v is None else convert(v) for v in values]
                    try:
                        arrays.append(pa.array(values, type=field.type))
                    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                        raise SourceError(
                            f"{info.qualified}.{field.name}: a value does not fit the column's declared type "
                            f"({type(exc).__name__}); fix the data or the column type"
                        ) from None
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f"reading {info.qualified} failed: {short_reason(exc)}") from exc


def create_statements(conn: Connection, names: Iterable[str]) -> dict[str, str]:
    """SHOW CREATE TABLE of each MySQL table, read on the source's snapshot connection."""
    return {name: conn.exec_driver_sql(f"SHOW CREATE TABLE `{name.replace('`', '``')}`").one()[1] for name in names}


def ddl_provider(conn: Connection, names: Iterable[str]) -> Callable[[], dict[str, str]]:
    """What a MySQL Source offers as MetaData.info[MYSQL_DDL]: read lazily, inside its snapshot."""
    names = list(names)
    return lambda: create_statements(conn, names)


def _to_arrow_value(sql_type: sa.types.TypeEngine, arrow_type: pa.DataType):
    """A per-value converter where the driver's Python value is not what Arrow takes, else None."""
    if pa.types.is_string(arrow_type):
        if isinstance(sql_type, sa.JSON):
            return lambda v: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        return lambda v: v if isinstance(v, str) else (str(v) if not isinstance(v, bytes) else v.decode())
    if pa.types.is_decimal(arrow_type):
        return lambda v: v if isinstance(v, Decimal) else Decimal(str(v))
    return None


def read_only_engine(url: URL) -> sa.Engine:
    """An engine that cannot write where the database allows it (SQLite opens the file read-only)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = Path(url.database or "")
        if not url.database or not path.is_file():
            raise SourceError(f"source {redact(url)}: no such SQLite file; check the path")
        return sa.create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    return sa.create_engine(url)


def begin_read_only(conn: Connection) -> Connection:
    """Open the snapshot transaction: REPEATABLE READ and READ ONLY where the database has them."""
    backend = conn.dialect.name
    try:
        if backend == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            conn.begin()
            try:  # must be the first statement; pg_dump then reads the schema in this very snapshot
                conn.info[SNAPSHOT] = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            except sa.exc.DBAPIError:  # e.g. a standby before PostgreSQL 10: pg_dump takes its own
                conn.info.pop(SNAPSHOT, None)
                conn.rollback()
                conn.begin()
                conn.exec_driver_sql("SELECT 1")
        elif backend == "mysql":
            conn.exec_driver_sql("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        else:
            conn.begin()
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"cannot open a read-only snapshot: {short_reason(exc)}") from exc
    return conn


def short_reason(exc: BaseException) -> str:
    """The driver's first line, without SQL or parameters (they may hold data)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return text[:300]

