"""The audit log inside the target database: `sanitizer_audit.events`, append-only and hash-chained.

Each row is one sealed record from `log.seal` (the same record and hash as a line of the local file):
the standard fields as typed columns, anything else in `details` (jsonb). Writers take an advisory
lock, read the last hash and insert, so the chain never forks; a UNIQUE `prev_hash` and an insert
trigger that checks the link enforce the same even for a writer that skips the lock.

Tamper resistance, honestly: UPDATE/DELETE/TRUNCATE are revoked from PUBLIC and from the owner, and a
trigger raises on them, so changing history needs a deliberate `DROP/ALTER TABLE ... DISABLE TRIGGER`
by the owner or a superuser. A superuser can still do that, or rewrite the whole chain with fresh
hashes, or drop the schema: `verify` detects any change short of a full rewrite, and a full rewrite
is caught by comparing the head hash with a copy kept elsewhere (the local file records it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from ..errors import ConfigError, LoadError
from ..source.reader import short_reason
from ..urls import parse, redact
from .log import CHAIN_FIELDS, FIELDS, GENESIS, canonical_time, seal, verify_records

SCHEMA = "sanitizer_audit"
AUDIT_LOCK_KEY = 0x5341_4155_4454  # "SAAUDT": one writer of the chain at a time, per database
INSUFFICIENT_PRIVILEGE = "42501"

_SQL_TYPES = {"text": "text", "int": "integer", "float": "double precision", "json": "jsonb"}
_COLUMNS = ",\n  ".join(
    f"{name} {'timestamptz NOT NULL' if name == 'time' else _SQL_TYPES[kind]}"
    + (" NOT NULL" if name == "command" else "") for name, kind in FIELDS.items())

EVENTS_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC;
CREATE TABLE {SCHEMA}.events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  {_COLUMNS},
  details jsonb NOT NULL DEFAULT '{{}}',
  prev_hash text NOT NULL UNIQUE CHECK (prev_hash ~ '^[0-9a-f]{{64}}$'),
  hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{{64}}$')
);
CREATE INDEX events_time ON {SCHEMA}.events (time);
CREATE FUNCTION {SCHEMA}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'sanitizer_audit.events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'history is tamper-evident; see docs/access-and-audit.md';
END $$;
CREATE FUNCTION {SCHEMA}.check_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.prev_hash IS DISTINCT FROM coalesce(
       (SELECT hash FROM {SCHEMA}.events ORDER BY id DESC LIMIT 1), '{GENESIS}') THEN
    RAISE EXCEPTION 'sanitizer_audit.events: prev_hash does not follow the last record'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.events
  FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {SCHEMA}.events
  FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();
CREATE TRIGGER events_linked BEFORE INSERT ON {SCHEMA}.events
  FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.check_link();
REVOKE ALL ON ALL TABLES IN SCHEMA {SCHEMA} FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON {SCHEMA}.events FROM CURRENT_USER;
"""

# Mutable state beside the log (the log records every change to it).
STATE_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.environment (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  name text NOT NULL,
  marked_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.key_fingerprints (
  fingerprint text NOT NULL,
  environment text NOT NULL,
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fingerprint, environment)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.grants (
  role text PRIMARY KEY,
  scope jsonb,
  expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON ALL TABLES IN SCHEMA {SCHEMA} FROM PUBLIC;
"""

_INSERT = sa.text(
    f"INSERT INTO {SCHEMA}.events ({', '.join(FIELDS)}, details, prev_hash, hash) VALUES ("
    + ", ".join(f"CAST(:{n} AS timestamptz)" if n == "time" else f":{n}" for n in FIELDS)
    + ", :details, :prev_hash, :hash)"
).bindparams(*(sa.bindparam(n, type_=JSONB(none_as_null=True)) for n, k in FIELDS.items() if k == "json"),
             sa.bindparam("details", type_=JSONB))


def engine_for(url: str | URL) -> sa.Engine:
    """An engine for a PostgreSQL target; ConfigError for anything else."""
    parsed = parse(url, what="target") if isinstance(url, str) else url
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"--target {redact(parsed)}: the audit table and access grants need PostgreSQL "
                          f"(got {parsed.get_backend_name()}); for SQLite use the local audit file")
    return sa.create_engine(parsed, poolclass=NullPool)


@contextlib.contextmanager
def begin(url: str | URL, what: str) -> Iterator[sa.Connection]:
    """One transaction on the target; driver errors become LoadError (ConfigError when privileges lack)."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            yield conn
    except sa.exc.DBAPIError as exc:
        reason = f"{what}: {redact(engine.url)}: {short_reason(exc)}"
        if getattr(exc.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
            raise ConfigError(reason + "; connect as a role with the needed privileges") from exc
        raise LoadError(reason) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise LoadError(f"{what}: {redact(engine.url)}: {short_reason(exc)}") from exc
    finally:
        engine.dispose()


def exists(conn: sa.Connection, relation: str = "events") -> bool:
    return conn.execute(sa.text("SELECT to_regclass(:r)"), {"r": f"{SCHEMA}.{relation}"}).scalar() is not None


def lock(conn: sa.Connection) -> None:
    """Hold the chain's lock until this transaction ends (take the load lock first, never after)."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})


def ensure_schema(conn: sa.Connection) -> None:
    """Create the audit schema, log and state tables when missing (call with the lock held)."""
    if not exists(conn):
        script(conn, EVENTS_DDL)
    script(conn, STATE_DDL)


def script(conn: sa.Connection, sql: str) -> None:
    """Run several statements at once, with no parameters (so `%` in PL/pgSQL stays as written)."""
    conn.connection.driver_connection.execute(sql)


def append_db_in(conn: sa.Connection, record: dict[str, Any]) -> dict[str, Any]:
    """Append inside the caller's transaction (it commits or rolls back with it); return the sealed record.

    The caller's transaction must be READ COMMITTED (PostgreSQL's default) so the last hash is read after
    the lock is held. The database role that writes is recorded as `db_user`.
    """
    if not record.get("command"):
        raise ValueError("audit record without a command")
    lock(conn)
    ensure_schema(conn)
    db_user = conn.execute(sa.text("SELECT current_user")).scalar()
    prev = conn.execute(sa.text(f"SELECT hash FROM {SCHEMA}.events ORDER BY id DESC LIMIT 1")).scalar()
    full = seal({**record, "db_user": db_user}, prev or GENESIS)
    params = {name: full[name] for name in (*FIELDS, *CHAIN_FIELDS)}
    params["details"] = {k: v for k, v in full.items() if k not in FIELDS and k not in CHAIN_FIELDS}
    conn.execute(_INSERT, params)
    return full


def append_db(conn_or_url: sa.Connection | str | URL, record: dict[str, Any]) -> dict[str, Any]:
    """Append and commit on its own (a URL), or inside a given connection's transaction."""
    if isinstance(conn_or_url, sa.Connection):
        return append_db_in(conn_or_url, record)
    with begin(conn_or_url, "audit: writing the audit record") as conn:
        return append_db_in(conn, record)


def rows_in(conn: sa.Connection, since: datetime | None = None) -> list[tuple[int, dict[str, Any]]]:
    """(id, record) pairs in chain order, records exactly as sealed."""
    if not exists(conn):
        return []
    where = "WHERE time >= :since" if since is not None else ""
    result = conn.execute(sa.text(
        f"SELECT id, {', '.join(FIELDS)}, details, prev_hash, hash FROM {SCHEMA}.events {where} ORDER BY id"),
        {"since": since} if since is not None else {})
    rows = []
    for row in result.mappings():
        record = {name: row[name] for name in FIELDS}
        record["time"] = canonical_time(row["time"])
        record.update(row["details"] or {})
        record.update({name: row[name] for name in CHAIN_FIELDS})
        rows.append((row["id"], record))
    return rows


def read_db(url: str | URL, since: datetime | None = None) -> list[dict[str, Any]]:
    """The records in the target's audit table, oldest first; [] when the table does not exist."""
    with begin(url, "audit: reading the audit table") as conn:
        return [record for _, record in rows_in(conn, since)]


def verify_db(url: str | URL) -> int | None:
    """The `id` of the first row that breaks the chain (changed, deleted before, reordered), or None."""
    with begin(url, "audit: reading the audit table") as conn:
        rows = rows_in(conn)
    broken = verify_records(record for _, record in rows)
    return None if broken is None else rows[broken][0]
