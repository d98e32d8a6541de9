"""Is the target the source? Asked of the servers themselves, never read from the URLs' text.

A host can be spelled many ways (127.0.0.1, 127.1, localhost, LOCALHOST, the machine's name, a DNS
alias, a port written out, another role), so two URLs are compared by what their servers say:

- PostgreSQL: the target connection carries a random `application_name`; if the source server lists
  that session in `pg_stat_activity`, both URLs reach one server, and the session's database OID says
  whether it is the source's database. `pg_control_system().system_identifier` (the same on a
  physical replica as on its primary) with the database OID is a second, independent answer.
- MySQL/MariaDB: the target session holds a random named lock (`GET_LOCK`), which `IS_USED_LOCK` on the
  source connection sees only on the same server; `@@server_uuid` (MySQL) or `@@hostname`, `@@port`
  and `@@datadir` say the same without the lock. The schema name completes it.
- SQLite: the same file (device and inode), whatever path leads to it.

`refuse_same` is what `run` and `validate` call before anything else; `server_identity` is what the
audit records and snapshot manifests carry, so a later `load --from` can tell its target from the
database the snapshot was taken from, and `holds_source_values` is asked before `--force` adopts a
database with tables: a target holding the source's original values in masked columns is refused.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from .errors import ConfigError, LoadError, SourceError
from .urls import redact

CONNECT_TIMEOUT_S = 15


@dataclass(frozen=True)
class ServerIdentity:
    """What a server says about itself and the database a URL selects; no credentials, no host text."""

    dialect: str
    server: dict[str, Any]   # e.g. {"system_identifier": "7312..."}; values None when the server hides them
    database: dict[str, Any]  # e.g. {"oid": 16384, "name": "shop"}

    def as_record(self) -> dict[str, Any]:
        return {"dialect": self.dialect, **self.server, **{f"database_{k}": v for k, v in self.database.items()}}


def refuse_same(source: URL, target: URL, command: str) -> tuple[ServerIdentity, ServerIdentity]:
    """ConfigError when `target` is the source's database under any spelling (--force cannot change
    that); else both servers' identities, for the run's audit record and snapshot manifest."""
    same, source_id, target_id = probe_pair(source, target)
    if same:
        raise ConfigError(f"{command}: --target {redact(target)} is the same database as --source (the servers "
                          "say so); it is never written, whatever --force says. Point --target at staging")
    return source_id, target_id


def is_same(source: URL, target: URL) -> bool:
    """True when both URLs reach one database, by the servers' own answers."""
    return probe_pair(source, target)[0]


def probe_pair(source: URL, target: URL) -> tuple[bool, ServerIdentity, ServerIdentity]:
    """(same database?, source identity, target identity), asking both servers."""
    backend, other = source.get_backend_name(), target.get_backend_name()
    if backend != other:
        return False, server_identity(source, role="source"), server_identity(target)
    if backend == "sqlite":
        return _same_sqlite_file(source, target), _sqlite_identity(source), _sqlite_identity(target)
    if backend == "postgresql":
        return _same_postgres(source, target)
    return _same_mysql(source, target)


def server_identity(url: URL, *, role: str = "target") -> ServerIdentity:
    """One server's identity (for audit records and snapshot manifests)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_identity(url)
    reach = _server_only(url) if backend == "mysql" and role == "target" else url
    with _connection(reach, role=role) as conn:  # the identity names the URL's schema, not the session's
        return _pg_identity(conn) if backend == "postgresql" else _mysql_identity(conn, url)


def same_identity(a: dict[str, Any], b: dict[str, Any]) -> bool | None:
    """Compare two recorded identities (`as_record()`); None when they hold nothing comparable."""
    if not a or not b or a.get("dialect") != b.get("dialect"):
        return None if not a or not b else False
    dialect = a["dialect"]
    if dialect == "postgresql":
        if a.get("system_identifier") is None or b.get("system_identifier") is None:
            return None
        return a["system_identifier"] == b["system_identifier"] and a.get("database_oid") == b.get("database_oid")
    if dialect == "mysql":
        server = _mysql_same_server_record(a, b)
        if server is None:
            return None
        return server and _same_schema(a, b)
    if dialect == "sqlite":
        if a.get("database_inode") is not None and b.get("database_inode") is not None:
            return (a["database_device"], a["database_inode"]) == (b["database_device"], b["database_inode"])
        return a.get("database_path") == b.get("database_path")
    return None


# --- SQLite ----------------------------------------------------------------------------------------

def _sqlite_file(url: URL) -> Path | None:
    database = url.database or ""
    if database.startswith("file:"):  # a URI filename: file:path?mode=ro
        database = database[5:].split("?", 1)[0]
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    return Path(database).expanduser().resolve()


def _same_sqlite_file(a: URL, b: URL) -> bool:
    path_a, path_b = _sqlite_file(a), _sqlite_file(b)
    if path_a is None or path_b is None:
        return False
    if path_a.exists() and path_b.exists():
        return os.path.samefile(path_a, path_b)  # hard links and bind mounts too
    return path_a == path_b


def _sqlite_identity(url: URL) -> ServerIdentity:
    path = _sqlite_file(url)
    stat = path.stat() if path is not None and path.exists() else None
    return ServerIdentity("sqlite", {}, {"path": str(path) if path else None,
                                         "device": stat.st_dev if stat else None,
                                         "inode": stat.st_ino if stat else None})


# --- connections -----------------------------------------------------------------------------------

@contextlib.contextmanager
def _connection(url: URL, *, role: str, **connect_args: Any) -> Iterator[sa.Connection]:
    """A short connection for the probe; the source's is read-only. Unreachable: the run's usual exit 3."""
    backend = url.get_backend_name()
    if backend == "sqlite":  # never opened for writing, never created
        path = _sqlite_file(url)
        url = sa.make_url(f"sqlite:///file:{path}?mode=ro&uri=true") if path else url
        args = dict(connect_args)
    else:
        args = {"connect_timeout": CONNECT_TIMEOUT_S, **connect_args}
    engine = sa.create_engine(url, poolclass=NullPool, connect_args=args)
    error = SourceError if role == "source" else LoadError
    try:
        with engine.connect() as conn:
            if backend == "postgresql" and role == "source":
                conn = conn.execution_options(postgresql_readonly=True)
            elif backend == "mysql" and role == "source":
                conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
            yield conn
    except sa.exc.SQLAlchemyError as exc:
        from .source.reader import short_reason

        raise error(f"cannot connect to {role} {redact(url)}: {short_reason(exc)}") from exc
    finally:
        engine.dispose()


# --- PostgreSQL ------------------------------------------------------------------------------------

def _pg_identity(conn: sa.Connection) -> ServerIdentity:
    oid, name = conn.exec_driver_sql(
        "SELECT oid, datname FROM pg_database WHERE datname = current_database()").one()
    try:
        with conn.begin_nested():
            system_id = conn.exec_driver_sql("SELECT system_identifier::text FROM pg_control_system()").scalar()
    except sa.exc.DBAPIError:  # EXECUTE revoked by an administrator: the session probe still answers
        system_id = None
    return ServerIdentity("postgresql", {"system_identifier": system_id}, {"oid": int(oid), "name": name})


def _same_postgres(source: URL, target: URL) -> tuple[bool, ServerIdentity, ServerIdentity]:
    nonce = f"sanitizer-sameness-{secrets.token_hex(12)}"
    with _connection(target, role="target", application_name=nonce) as tconn:
        target_id = _pg_identity(tconn)
        with _connection(source, role="source") as sconn:
            source_id = _pg_identity(sconn)
            seen = sconn.execute(sa.text("SELECT datid FROM pg_stat_activity WHERE application_name = :n"),
                                 {"n": nonce}).scalars().all()
    if seen:  # the source server hosts the target's session: one server
        same = any(int(datid) == source_id.database["oid"] for datid in seen if datid is not None)
    else:
        same = same_identity(source_id.as_record(), target_id.as_record()) is True
    return same, source_id, target_id


# --- MySQL / MariaDB -------------------------------------------------------------------------------

def _mysql_identity(conn: sa.Connection, url: URL) -> ServerIdentity:
    hostname, port, datadir, lower = conn.exec_driver_sql(
        "SELECT @@hostname, @@port, @@datadir, @@lower_case_table_names").one()
    try:
        server_uuid = conn.exec_driver_sql("SELECT @@server_uuid").scalar()  # MySQL; MariaDB has none
    except sa.exc.DBAPIError:
        server_uuid = None
    schema = url.database or conn.exec_driver_sql("SELECT DATABASE()").scalar()
    return ServerIdentity("mysql", {"server_uuid": server_uuid, "hostname": hostname, "port": int(port),
                                    "datadir": datadir, "lower_case_table_names": int(lower)},
                          {"name": schema})


def _mysql_same_server_record(a: dict[str, Any], b: dict[str, Any]) -> bool | None:
    if a.get("server_uuid") and b.get("server_uuid"):
        return a["server_uuid"] == b["server_uuid"]
    keys = ("hostname", "port", "datadir")
    if any(a.get(k) is None or b.get(k) is None for k in keys):
        return None
    return all(a[k] == b[k] for k in keys)


def _same_schema(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Schema names on one server compare as that server compares them (`lower_case_table_names`)."""
    fold = str.lower if a.get("lower_case_table_names") else str
    return fold(str(a.get("database_name") or "")) == fold(str(b.get("database_name") or ""))


def _server_only(url: URL) -> URL:
    """The target schema may not exist yet (the MySQL loader creates it): connect to the server alone."""
    return URL.create(url.drivername, url.username, url.password, url.host, url.port, query=url.query)


def _same_mysql(source: URL, target: URL) -> tuple[bool, ServerIdentity, ServerIdentity]:
    lock = f"sanitizer-sameness-{secrets.token_hex(12)}"
    with _connection(_server_only(target), role="target") as tconn:
        target_id = _mysql_identity(tconn, target)
        tconn.execute(sa.text("SELECT GET_LOCK(:n, 0)"), {"n": lock})
        try:
            with _connection(source, role="source") as sconn:
                source_id = _mysql_identity(sconn, source)
                holder = sconn.execute(sa.text("SELECT IS_USED_LOCK(:n)"), {"n": lock}).scalar()
        finally:
            tconn.execute(sa.text("SELECT RELEASE_LOCK(:n)"), {"n": lock})
    a, b = source_id.as_record(), target_id.as_record()
    same_server = holder is not None or _mysql_same_server_record(a, b) is True
    same = same_server and _same_schema(a, b)
    return same, source_id, target_id


# --- a target that holds the source's data -----------------------------------------------------------

SAMPLE_VALUES = 64     # distinct originals read per masked column
MIN_SAMPLE = 8         # fewer than this says nothing either way
HOLDS_SHARE = 0.5      # masked output never equals its originals; half of them found means a copy
MAX_COLUMNS = 24


def holds_source_values(source: URL, target: URL, ruleset: Any) -> str | None:
    """The first masked `table.column` whose sampled originals are found as they are in the target, or None.

    Asked before `--force` adopts a database with tables: a restored dump, a promoted replica or the
    source itself under a spelling the probes could not see holds the originals that masking replaces.
    Only strategies that never return their input are sampled; values are compared, never shown.
    """
    candidates = [(name, column) for name, rule in ruleset.tables.items() if not rule.skip
                  for column, col_rule in rule.columns.items() if not col_rule.strategy.may_keep_value]
    if not candidates:
        return None
    with _connection(source, role="source") as sconn, _connection(target, role="target") as tconn:
        checked = 0
        for name, column in candidates:
            if checked >= MAX_COLUMNS:
                break
            table = _sql_table(name, column)
            if table is None or not _has_column(tconn, table.schema, table.name, column):
                continue
            text = sa.cast(table.c[column], sa.String)
            try:
                with sconn.begin():
                    originals = [v for v in sconn.execute(
                        sa.select(text).where(table.c[column].is_not(None)).distinct().limit(SAMPLE_VALUES)
                    ).scalars() if v is not None and len(v) >= 4]
            except sa.exc.DBAPIError:  # not in the source under this name: nothing to compare
                continue
            if len(originals) < MIN_SAMPLE:
                continue
            checked += 1
            found = tconn.execute(sa.select(sa.func.count(sa.distinct(text))).where(
                text.in_(originals))).scalar() or 0
            tconn.rollback()
            if found >= HOLDS_SHARE * len(originals):
                return f"{name}.{column}"
    return None


def _sql_table(qualified: str, column: str) -> sa.TableClause | None:
    schema, _, name = qualified.rpartition(".")
    return sa.table(name, sa.column(column), schema=schema or None) if name else None


def _has_column(conn: sa.Connection, schema: str | None, table: str, column: str) -> bool:
    found = conn.execute(sa.text(
        "SELECT 1 FROM information_schema.columns WHERE table_name = :t AND column_name = :c "
        "AND table_schema = coalesce(:s, current_schema())"), {"t": table, "c": column, "s": schema}).first()
    conn.rollback()
    return found is not None
