"""MySQL/MariaDB staging: load a shadow database, then swap it in with ONE `RENAME TABLE` statement.

MySQL DDL is not transactional, so the PostgreSQL design (everything in one transaction) does not
carry over. Instead, verified on MariaDB 10.11:

- every table is created and loaded in `<db>__sanitizer_new`, which no staging reader looks at;
- the swap is one `RENAME TABLE live.t TO old.t, ..., new.t TO live.t, ...` statement: atomic and
  crash-safe (readers wait on its metadata locks and then see the old tables or the new ones, never a
  mix); foreign keys move with their tables and end up referencing the live ones;
- live tables that the new set does not have move to `<db>__sanitizer_old` too, like every other
  old table, and are dropped with it: staging is replaced whole, as the PostgreSQL target does;
- a failure, a validation finding or SIGKILL before the swap leaves the live tables untouched; the
  next run drops what is left of the shadow and old databases once it holds the target's lock;
- `GET_LOCK('sanitizer:<db>', 0)` is held by the loading session: a second run is refused, and the
  server releases the lock when a killed run's connection goes.

Rows go in as multi-row INSERT statements whose SQL literals Arrow renders column by column (no
per-value Python), with NO_BACKSLASH_ESCAPES so that doubling quotes is the only escaping, each
statement committed on its own (a failed load has nothing big to roll back: the shadow is dropped).
Foreign key checks are off during the load (any table order) and every foreign key is verified by
query before the swap. Unique checks stay on: MariaDB's bulk load (unique_checks=0) was slower here
(1M rows: 7-9 s against 4.3-4.5 s, and 15-19 s against 9-10 s with three secondary indexes).

With the source's SHOW CREATE TABLE (offered on the MetaData under MYSQL_DDL) the staging
tables are the source's own, AUTO_INCREMENT counters included; without it they are built from the
reflected tables with SQLAlchemy's MySQL dialect (docs/types.md says what that loses).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from ..errors import Busy, ConfigError, LoadError
from ..schema.model import TableInfo
from ..schema.portable import PORTABLE_DEFAULTS
from ..source.reader import MYSQL_DDL, short_reason
from ..urls import redact
from .target import Target

NEW_SUFFIX = "__sanitizer_new"
OLD_SUFFIX = "__sanitizer_old"
MAX_NAME = 64  # MySQL identifiers and GET_LOCK names
DROP_WAIT_S = 60  # lock_wait_timeout for dropping leftovers (a reader may still be in an old table)
STATEMENT_BYTES = 4 << 20  # one INSERT; far below max_allowed_packet's 16 MiB default
LOAD_SQL_MODE = "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION"
MYSQL_TYPES = "sqlalchemy.dialects.mysql"
BLANK = sa.schema.BLANK_SCHEMA  # one MySQL database: the tables of every source schema go in it
KEY_TEXT_CHARS = 768  # the longest utf8mb4 VARCHAR an InnoDB index takes whole (3072 bytes)
INDEX_PREFIX_CHARS = 255  # prefix of a TEXT column in a plain index
# MySQL messages that quote the offending value: keep the message, hide the value
VALUE_IN_MESSAGE = [
    (re.compile(r"(Duplicate entry )'.*'( for key .*)$", re.S), r"\1(value hidden)\2"),
    (re.compile(r"(Incorrect [\w ]+ value: )'.*'( for column .*)$", re.S), r"\1(value hidden)\2"),
    (re.compile(r"(Truncated incorrect [\w ]+ value: )'.*'$", re.S), r"\1(value hidden)"),
    (re.compile(r"(Incorrect [\w ]+ value: )'.*'$", re.S), r"\1(value hidden)"),
]


def shadow_database(live: str, suffix: str = NEW_SUFFIX) -> str:
    """`<db>__sanitizer_new` (or _old), shortened with a hash of the name when it would pass 64 characters."""
    name = live + suffix
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(live.encode()).hexdigest()[:8]
    return f"{live[:MAX_NAME - len(suffix) - 9]}_{digest}{suffix}"


def lock_name(live: str) -> str:
    name = f"sanitizer:{live}"
    return name if len(name) <= MAX_NAME else f"sanitizer:{hashlib.sha256(live.encode()).hexdigest()}"


def qi(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def reason(exc: BaseException) -> str:
    """The server's message without the row value some MySQL errors quote, and without SQL."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, pymysql.err.MySQLError) and len(orig.args) == 2 and isinstance(orig.args[1], str):
        text = orig.args[1].strip().splitlines()[0] if orig.args[1].strip() else type(orig).__name__
        for pattern, replacement in VALUE_IN_MESSAGE:
            text = pattern.sub(replacement, text)
        return f"{text[:300]} (MySQL error {orig.args[0]})"
    return short_reason(exc)


class MySQLTarget(Target):
    """Staging in a MySQL or MariaDB database: shadow database, checks, one RENAME TABLE."""

    def open(self) -> None:
        if not self.url.database:
            raise ConfigError(f"--target {redact(self.url)}: a MySQL target needs a database name, "
                              "e.g. mysql://loader@host/staging")
        self.live = self.url.database
        self.new = shadow_database(self.live, NEW_SUFFIX)
        self.old = shadow_database(self.live, OLD_SUFFIX)
        self._tables: dict[str, sa.Table] = {}  # info.qualified -> the staging table (bare name)
        self._heads: dict[str, bytes] = {}  # info.qualified -> b"INSERT INTO `t` (`a`,`b`) VALUES "
        self._bits: dict[str, set[str]] = {}  # info.qualified -> BIT columns (their values come as number text)
        self._raw = None
        # max_allowed_packet here is only pymysql's own guard; the server's limit still applies
        self._engine = sa.create_engine(self.url, poolclass=NullPool,
                                        connect_args={"max_allowed_packet": 1 << 30, "autocommit": True})
        try:
            self._proxy = self._engine.raw_connection()  # kept: dropping it would close the connection
            self._raw = self._proxy.driver_connection
            got = self._one("SELECT GET_LOCK(%s, 0)", (lock_name(self.live),))
        except (sa.exc.SQLAlchemyError, pymysql.err.MySQLError) as exc:
            self._close()
            raise LoadError(f"cannot connect to target {redact(self.url)}: {reason(exc)}") from exc
        if got != 1:
            self._close()
            raise Busy(f"target {redact(self.url)}: another sanitizer run is loading it; try again when it ends")
        try:
            self._drop_leftovers()  # of a killed run: ours now that we hold the lock
        except pymysql.err.MySQLError as exc:
            self._close()
            raise LoadError(f"target {redact(self.url)}: dropping an earlier run's {self.new} or {self.old} failed: "
                            f"{reason(exc)}; the loader needs ALL on `{self.live}__sanitizer_%`") from exc

    def _drop_leftovers(self) -> None:
        """Drop the shadow and old databases, waiting a bounded time for a reader still in an old table."""
        self._exec(f"SET SESSION lock_wait_timeout = {DROP_WAIT_S}")
        self._exec(f"DROP DATABASE IF EXISTS {qi(self.new)}")
        self._exec(f"DROP DATABASE IF EXISTS {qi(self.old)}")
        self._exec("SET SESSION lock_wait_timeout = DEFAULT")

    # -- schema -------------------------------------------------------------------------------

    def create(self, tables: list[tuple[TableInfo, sa.Table]]) -> None:
        """The shadow database and its tables: the source's own DDL when offered, else from the reflected tables."""
        provider = tables[0][1].metadata.info.get(MYSQL_DDL) if tables else None
        names = [table.name for _, table in tables]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise ConfigError(f"--target {redact(self.url)}: tables {', '.join(clash)} exist in several source "
                              "schemas and would collide in one MySQL database; load one schema per target")
        self._refuse_triggers()
        metadata = sa.MetaData()
        copies = [(info, table.to_metadata(metadata, schema=None, referred_schema_fn=lambda *_: BLANK))
                  for info, table in tables]
        statements = provider() if provider is not None else None
        try:
            charset, collation = self._one(
                "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
                "WHERE SCHEMA_NAME = %s", (self.live,), whole=True)
            self._exec(f"CREATE DATABASE {qi(self.new)} CHARACTER SET {charset} COLLATE {collation}")
            self._exec(f"USE {qi(self.new)}")
            self._exec("SET SESSION foreign_key_checks = 0")
        except (pymysql.err.MySQLError, TypeError) as exc:
            raise LoadError(f"creating {self.new} on {redact(self.url)} failed: {reason(exc)}; "
                            f"the loader needs ALL on `{self.live}__sanitizer_%`") from exc
        if statements is None:
            adapt_foreign([(info, copy) for info, copy in copies if not from_mysql(copy)])
        for info, copy in copies:
            self._tables[info.qualified] = copy
            columns = ",".join(qi(c.name) for c in info.columns)
            self._heads[info.qualified] = f"INSERT INTO {qi(copy.name)} ({columns}) VALUES ".encode()
            self._bits[info.qualified] = {c.name for c in copy.columns if isinstance(c.type, mysql.BIT)}
            try:
                if statements is not None:
                    self._exec(statements[copy.name])
                else:
                    self._create_from_table(copy)
            except (pymysql.err.MySQLError, sa.exc.SQLAlchemyError) as exc:
                raise LoadError(f"creating staging table {info.qualified} failed: {reason(exc)}") from exc
        self._exec(f"SET SESSION sql_mode = '{LOAD_SQL_MODE}'")

    def _create_from_table(self, table: sa.Table) -> None:
        dialect = self._engine.dialect
        self._exec(str(CreateTable(table, include_foreign_key_constraints=[]).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            self._exec(str(CreateIndex(index).compile(dialect=dialect)))
        for fk in sorted(table.foreign_key_constraints, key=lambda c: c.name or ""):
            self._exec(str(AddConstraint(fk).compile(dialect=dialect)))

    def _refuse_triggers(self) -> None:
        """RENAME TABLE cannot move a table with triggers to another database: say so before loading."""
        found = self._all("SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS "
                          "WHERE EVENT_OBJECT_SCHEMA = %s ORDER BY 1, 2", (self.live,))
        if found:
            table, trigger = found[0]
            raise ConfigError(f"--target {redact(self.url)}: staging table {table} has trigger {trigger}; the swap "
                              "cannot move a table with triggers (sanitizer does not copy them): drop the trigger")

    # -- rows ---------------------------------------------------------------------------------

    def write(self, info: TableInfo, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        try:
            statements = insert_statements(self._heads[info.qualified], batch, info, self._bits[info.qualified])
            with self._raw.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        except pymysql.err.MySQLError as exc:
            raise LoadError(f"loading {info.qualified} failed: {reason(exc)}") from exc
        self._count(info, batch.num_rows)

    def finalize(self, sequences: dict[str, tuple[int, bool]]) -> None:
        """Each foreign key verified by query: the load ran without checks."""
        try:
            for info, table in self._tables.items():
                for fk in table.foreign_key_constraints:
                    if self._orphans(table, fk):
                        referred = fk.elements[0].column.table.name if fk.elements else "?"
                        raise LoadError(
                            f"{info}: foreign key {fk.name or ''} ({', '.join(fk.column_keys)}) has values that "
                            f"{referred} does not have; mask both with the same keyed rule or keep them")
            self._exec("SET SESSION foreign_key_checks = 1")
            if self._tables:
                self._exec("ANALYZE TABLE " + ", ".join(qi(t.name) for t in self._tables.values()))
        except pymysql.err.MySQLError as exc:
            raise LoadError(f"checking foreign keys in {self.new} failed: {reason(exc)}") from exc

    def _orphans(self, table: sa.Table, fk: sa.ForeignKeyConstraint) -> bool:
        """True when a child row's key (no part NULL) has no parent row: what the server would have refused."""
        try:
            parent = fk.elements[0].column.table
        except sa.exc.NoReferencedTableError:  # a table outside this load (another database): not ours to check
            return False
        pairs = [(e.parent.name, e.column.name) for e in fk.elements]
        on = " AND ".join(f"c.{qi(a)} = p.{qi(b)}" for a, b in pairs)
        present = " AND ".join(f"c.{qi(a)} IS NOT NULL" for a, _ in pairs)
        sql = (f"SELECT 1 FROM {qi(table.name)} c LEFT JOIN {qi(parent.name)} p ON {on} "
               f"WHERE {present} AND p.{qi(pairs[0][1])} IS NULL LIMIT 1")
        return self._one(sql) is not None

    # -- publish ------------------------------------------------------------------------------

    def commit(self) -> None:
        """One RENAME TABLE: every live table out to the old database, every new one in; then drop the old."""
        try:
            live = [r[0] for r in self._all(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                "AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", (self.live,))]
            self._exec(f"CREATE DATABASE {qi(self.old)}")
            moves = [f"{qi(self.live)}.{qi(t)} TO {qi(self.old)}.{qi(t)}" for t in live]
            moves += [f"{qi(self.new)}.{qi(t.name)} TO {qi(self.live)}.{qi(t.name)}" for t in self._tables.values()]
            if moves:
                self._exec("RENAME TABLE " + ", ".join(moves))
        except pymysql.err.MySQLError as exc:
            raise LoadError(f"swapping staging in failed: {reason(exc)}; staging was left as it was") from exc
        self._committed = True  # published: from here on what is left over is dropped now or by the next run
        with contextlib.suppress(pymysql.err.MySQLError):
            self._drop_leftovers()
        self._close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the connection may be gone: the next run drops the shadow
            self._drop_leftovers()
        self._close()

    def _close(self) -> None:
        """Closing the session releases GET_LOCK."""
        if self._raw is not None:
            with contextlib.suppress(Exception):
                self._proxy.close()
            self._raw = None
        self._engine.dispose()

    # -- helpers ------------------------------------------------------------------------------

    def _exec(self, sql: str, params: tuple | None = None) -> None:
        with self._raw.cursor() as cur:
            cur.execute(sql, params)

    def _all(self, sql: str, params: tuple | None = None) -> list[tuple]:
        with self._raw.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def _one(self, sql: str, params: tuple | None = None, *, whole: bool = False):
        with self._raw.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return row if whole else (row[0] if row is not None else None)


# -- tables from another kind of database ------------------------------------------------------

def adapt_foreign(copies: list[tuple[TableInfo, sa.Table]]) -> None:
    """Make portable tables (from PostgreSQL or SQLite, portable.py) fit MySQL; docs/types.md has the list."""
    fk_names: set[str] = set()
    for _, table in copies:
        keyed = _key_columns(table)
        first = next(iter(table.primary_key.columns), None)
        for column in table.columns:
            column.type = mysql_type(column.type)
            if column.autoincrement is True and column is not first:  # MySQL: AUTO_INCREMENT must lead a key
                column.autoincrement = False
            if column.name in keyed and isinstance(column.type, mysql.LONGTEXT):
                column.type = mysql.VARCHAR(max(1, KEY_TEXT_CHARS // keyed[column.name]))
            _adapt_default(column)
        for index in table.indexes:  # a TEXT column is indexed by a prefix
            lengths = {c.name: INDEX_PREFIX_CHARS for c in index.columns if isinstance(c.type, mysql.LONGTEXT)}
            if lengths:
                index.dialect_options["mysql"]["length"] = lengths
        for constraint in list(table.constraints):
            if isinstance(constraint, sa.CheckConstraint):  # the source's SQL dialect
                table.constraints.discard(constraint)
            elif isinstance(constraint, sa.ForeignKeyConstraint) and constraint.name:
                if constraint.name in fk_names:  # unique per table elsewhere, per database in MySQL
                    constraint.name = None
                else:
                    fk_names.add(constraint.name)


def from_mysql(table: sa.Table) -> bool:
    """Reflected from MySQL/MariaDB (its table options, or a column of its dialect's types), not made portable."""
    return any(key.startswith("mysql_") for key in table.dialect_kwargs) or any(
        type(column.type).__module__.startswith(MYSQL_TYPES) for column in table.columns)


def _key_columns(table: sa.Table) -> dict[str, int]:
    """Columns in a primary key, UNIQUE constraint or foreign key -> most key columns sharing one key."""
    keys = [list(table.primary_key.columns)]
    keys += [list(c.columns) for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
    keys += [list(i.columns) for i in table.indexes if i.unique]
    keys += [[e.parent for e in fk.elements] for fk in table.foreign_key_constraints]
    for other in table.metadata.tables.values():
        for fk in other.foreign_key_constraints:
            with contextlib.suppress(sa.exc.NoReferencedTableError):
                if fk.referred_table is table:
                    keys.append([e.column for e in fk.elements])
    found: dict[str, int] = {}
    for columns in keys:
        for column in columns:
            found[column.name] = max(found.get(column.name, 1), len(columns))
    return found


def mysql_type(type_: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """A MySQL type for a generic one from another kind of database."""
    if type(type_).__module__.startswith(MYSQL_TYPES):
        return type_
    if isinstance(type_, sa.JSON):
        return mysql.JSON()
    if isinstance(type_, sa.Boolean):
        return mysql.BOOLEAN()
    if isinstance(type_, sa.DateTime):
        return mysql.DATETIME(fsp=6)  # MySQL's default keeps whole seconds only
    if isinstance(type_, sa.Time):
        return mysql.TIME(fsp=6)
    if isinstance(type_, sa.Interval):
        return mysql.BIGINT()  # microseconds
    if isinstance(type_, sa.Uuid):
        return mysql.CHAR(36)
    if isinstance(type_, sa.Float):
        return mysql.DOUBLE() if (type_.precision or 53) > 24 else mysql.FLOAT()
    if isinstance(type_, sa.Numeric):
        if type_.precision is None:  # unbounded NUMERIC
            return mysql.DECIMAL(65, 30)
        return mysql.DECIMAL(min(type_.precision, 65), min(type_.scale or 0, 30))
    if isinstance(type_, sa.String) and (isinstance(type_, sa.Text) or not type_.length):
        return mysql.LONGTEXT()
    if isinstance(type_, sa.LargeBinary):
        return mysql.LONGBLOB()
    try:
        type_.compile(dialect=mysql.dialect())
    except Exception:  # arrays, ranges and the like: they arrive as the source's text form
        return mysql.LONGTEXT()
    return type_


def _adapt_default(column: sa.Column) -> None:
    """Keep the defaults portable.py keeps (numbers, CURRENT_TIMESTAMP, NULL, TRUE, FALSE), for tables that did
    not pass through it (synth hands over the source's own)."""
    default = column.server_default
    if default is None:
        return
    text = str(getattr(getattr(default, "arg", None), "text", getattr(default, "arg", ""))).strip()
    bare = text.strip("'\" ")
    if bare.upper() not in PORTABLE_DEFAULTS and not _number(bare):
        column.server_default = None  # the source's SQL (nextval(...), casts)
    elif isinstance(column.type, mysql.LONGTEXT | mysql.LONGBLOB | mysql.JSON):
        column.server_default = None  # MySQL takes no literal default on TEXT, BLOB or JSON
    elif isinstance(column.type, mysql.DATETIME) and text.upper().startswith("CURRENT_TIMESTAMP"):
        column.server_default = sa.text("CURRENT_TIMESTAMP(6)")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- rows as SQL literals, rendered by Arrow ------------------------------------------------------

_HEX = np.frombuffer(b"".join(f"{i:02X}".encode() for i in range(256)), dtype=np.uint8).reshape(256, 2)
_NULL = pa.scalar("NULL", pa.large_string())


def _s(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def sql_literals(values: pa.Array, where: str) -> pa.Array:
    """Each value as a MySQL literal (NO_BACKSLASH_ESCAPES), NULL for nulls: large_string, no nulls."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        return sql_literals(values.dictionary_decode(), where)
    if pa.types.is_null(kind):
        return pa.array(["NULL"] * len(values), pa.large_string())
    if pa.types.is_boolean(kind):
        out = pc.if_else(values, _s("1"), _s("0"))
    elif pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        out = pc.cast(values, pa.large_string())
    elif pa.types.is_floating(kind):
        if pc.any(pc.invert(pc.is_finite(values))).as_py():  # nulls skipped; None when all null
            raise LoadError(f"{where}: NaN or infinite values have no MySQL form; make the rule produce numbers")
        out = pc.cast(values, pa.large_string())
    elif pa.types.is_duration(kind):
        out = pc.cast(pc.cast(values.cast(pa.duration("us")), pa.int64()), pa.large_string())
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        out = _quoted(pc.replace_substring(values.cast(pa.large_string()), "'", "''"))
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        out = pc.binary_join_element_wise(_s("X'"), _hex(values), _s("'"), _s(""))
    elif pa.types.is_timestamp(kind):
        if kind.tz is not None:  # the same instant, as UTC wall time (MySQL DATETIME has no zone)
            values = values.cast(pa.timestamp(kind.unit))
        out = _quoted(pc.cast(values, pa.large_string()))
    elif pa.types.is_date(kind) or pa.types.is_time(kind):
        out = _quoted(pc.cast(values, pa.large_string()))
    else:
        raise LoadError(f"{where}: Arrow type {kind} has no MySQL literal here; report this with the column's type")
    return pc.fill_null(out, _NULL)


def _quoted(text: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(_s("'"), text, _s("'"), _s(""))


def _hex(values: pa.Array) -> pa.Array:
    """Binary values as hexadecimal text (nulls as null), through a lookup table over the whole buffer."""
    values = values.cast(pa.large_binary())
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[values.offset:values.offset + len(values) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    digits = _HEX[data[offsets[0]:offsets[-1]]]
    hexed = pa.LargeStringArray.from_buffers(len(values), pa.py_buffer((offsets - offsets[0]) * 2),
                                             pa.py_buffer(digits.tobytes()))
    return pc.if_else(values.is_null(), pa.scalar(None, pa.large_string()), hexed)


def insert_statements(head: bytes, batch: pa.RecordBatch, info: TableInfo, bits: set[str] = frozenset(),
                      limit: int = STATEMENT_BYTES) -> Iterator[bytes]:
    """Multi-row INSERT statements of at most about `limit` bytes (a single bigger row goes alone).

    `bits`: BIT columns, whose values a MySQL source hands over as the number's text; written as numbers."""
    columns = []
    for values, name in zip(batch.columns, batch.schema.names, strict=True):
        where = f"{info.qualified}.{name}"
        if name in bits and (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            try:
                values = pc.cast(values, pa.uint64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise LoadError(f"{where}: a BIT column takes numbers; make the rule keep it or produce digits") \
                    from None
        columns.append(sql_literals(values, where))
    rows = pc.binary_join_element_wise(_s("("), pc.binary_join_element_wise(*columns, _s(",")), _s("),"), _s(""))
    _, offsets_buffer, data_buffer = rows.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[rows.offset:rows.offset + len(rows) + 1]
    data = memoryview(data_buffer)
    start = 0
    while start < len(rows):
        end = int(np.searchsorted(offsets, offsets[start] + limit, side="right")) - 1
        end = min(max(end, start + 1), len(rows))
        yield head + data[offsets[start]:offsets[end] - 1].tobytes()  # without the last row's comma
        start = end
