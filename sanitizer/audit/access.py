"""Read-only access to staging on PostgreSQL: login roles that can SELECT and nothing else.

`grant` creates (or updates) a LOGIN role: CONNECT on the database, USAGE on the data schemas, SELECT on
their tables and default privileges so tables of the next refresh are readable too; no write, no access
to `sanitizer_audit`. Expiry is the role's VALID UNTIL. Passwords travel only as SCRAM verifiers computed
client-side by libpq; a generated password is returned once to the caller and never logged or audited.
Roles are cluster-wide: sanitizer only touches roles it created (marked by a comment on the role).
Every grant and revoke appends an audit record in the same transaction.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from ..errors import ConfigError
from ..load.target import LOCK_KEY
from ..urls import identity
from . import db

MARK = "managed by sanitizer: read-only access to staging"
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
RESERVED = {"public", "none", "current_user", "session_user", "current_role", "all"}
NOT_DATA = ("pg\\_%", "sanitizer\\_new\\_%", "sanitizer\\_old\\_%")


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def check_role_name(role: str) -> str:
    """Role names: lower-case letters, digits and `_`, not starting with a digit, at most 63; no pg_ prefix."""
    if not ROLE_NAME.fullmatch(role) or role.startswith("pg_") or role in RESERVED:
        raise ConfigError(f"access: role name {role!r} is not allowed; use lower-case letters, digits and _, "
                          "starting with a letter, at most 63 characters, not starting with pg_")
    return role


def data_schemas(conn: sa.Connection) -> list[str]:
    """Schemas holding staging data: everything but system, audit and half-loaded shadow schemas."""
    return list(conn.execute(sa.text(
        "SELECT nspname FROM pg_namespace WHERE nspname <> 'information_schema' AND nspname <> :audit "
        "AND NOT (nspname LIKE :a OR nspname LIKE :b OR nspname LIKE :c) ORDER BY nspname"),
        {"audit": db.SCHEMA, "a": NOT_DATA[0], "b": NOT_DATA[1], "c": NOT_DATA[2]}).scalars())


def resolve_tables(conn: sa.Connection, tables: list[str], schemas: list[str]) -> list[str]:
    """`schema.table` or a bare table name (unique across the data schemas) -> sorted `schema.table`."""
    rows = conn.execute(sa.text(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY(:s)"), {"s": schemas}).all()
    found: set[str] = set()
    for name in tables:
        schema, _, table = name.rpartition(".")
        hits = [f"{s}.{t}" for s, t in rows if t == table and (not schema or s == schema)]
        if len(hits) != 1:
            problem = "no such table" if not hits else f"ambiguous, give one of {', '.join(sorted(hits))}"
            raise ConfigError(f"access grant --tables {name}: {problem}")
        found.add(hits[0])
    return sorted(found)


def _role(conn: sa.Connection, role: str) -> sa.Row | None:
    return conn.execute(sa.text(
        "SELECT oid, rolsuper, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = :r"),
        {"r": role}).first()


def _managed(conn: sa.Connection, role: str, command: str) -> sa.Row | None:
    found = _role(conn, role)
    if found is not None and (found.comment != MARK or found.rolsuper):
        raise ConfigError(f"access {command}: role {role} exists and was not created by sanitizer; "
                          "sanitizer only changes roles it created; choose another name")
    return found


def _begin(conn: sa.Connection) -> None:
    """Wait for a running load to finish (its swap would drop fresh grants), then hold the audit lock."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    db.lock(conn)
    db.ensure_schema(conn)


def _try(conn: sa.Connection, sql: str) -> bool:
    """Run a statement the target may refuse (e.g. a superuser-only setting); False when refused."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(sql)
    except sa.exc.DBAPIError:
        return False
    return True


def _owners(conn: sa.Connection, schemas: list[str]) -> list[str]:
    """Roles whose future tables the grantee must read: owners of the data schemas, and us (the loader)."""
    return sorted(set(conn.execute(sa.text(
        "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = ANY(:s) "
        "AND nspowner::regrole::text NOT LIKE 'pg\\_%' UNION SELECT quote_ident(current_user)"),
        {"s": schemas}).scalars()))


def _apply(conn: sa.Connection, role: str, scope: list[str] | None, schemas: list[str]) -> None:
    """Grant SELECT on the scope (None = every data schema) to the role."""
    if scope is None:
        for schema in schemas:
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {q(schema)} TO {q(role)}")
            conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {q(schema)} TO {q(role)}")
        return
    for name in scope:
        schema, _, table = name.partition(".")
        if schema in schemas:
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {q(schema)} TO {q(role)}")
            if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{q(schema)}.{q(table)}"}).scalar():
                conn.exec_driver_sql(f"GRANT SELECT ON {q(schema)}.{q(table)} TO {q(role)}")


def _strip(conn: sa.Connection, role: str) -> None:
    """Take every privilege sanitizer may have given the role in this database."""
    rq = q(role)
    for schema in [*data_schemas(conn), db.SCHEMA]:
        conn.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA {q(schema)} FROM {rq}")
        conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA {q(schema)} FROM {rq}")
    owners = conn.execute(sa.text(
        "SELECT DISTINCT d.defaclrole::regrole::text FROM pg_default_acl d, aclexplode(d.defaclacl) a "
        "WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = :r)"), {"r": role}).scalars()
    for owner in owners:
        conn.exec_driver_sql(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} REVOKE ALL ON TABLES FROM {rq}")
        conn.exec_driver_sql(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} REVOKE ALL ON SCHEMAS FROM {rq}")
    database = conn.execute(sa.text("SELECT current_database()")).scalar()
    conn.exec_driver_sql(f"REVOKE ALL ON DATABASE {q(database)} FROM {rq}")


def grant(url: str | URL, role: str, expires: timedelta | None = None, tables: list[str] | None = None,
          password: str | None = None, *, actor: str | None = None) -> dict[str, Any]:
    """Create or update a read-only LOGIN role; returns what was done (and `password` if one was generated)."""
    check_role_name(role)
    if expires is not None and expires <= timedelta(0):
        raise ConfigError("access grant --expires: must be in the future, e.g. 7d or 12h")
    if password is not None and len(password) < 8:
        raise ConfigError("access grant: a given password must have at least 8 characters")
    until = datetime.now(UTC) + expires if expires is not None else None
    with db.begin(url, f"access grant {role}") as conn:
        _begin(conn)
        existing = _managed(conn, role, "grant")
        if conn.execute(sa.text("SELECT current_user")).scalar() == role:
            raise ConfigError(f"access grant: {role} is the role sanitizer connects as; choose another name")
        generated = secrets.token_urlsafe(24) if existing is None and password is None else None
        secret = password or generated
        valid = until.isoformat() if until else "infinity"
        options = f"LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS VALID UNTIL '{valid}'"
        if secret is not None:
            raw = conn.connection.driver_connection
            verifier = raw.pgconn.encrypt_password(secret.encode(), role.encode(), b"scram-sha-256").decode()
            options += f" PASSWORD '{verifier}'"  # a SCRAM verifier: base64, '$' and ':' only
        conn.exec_driver_sql(f"{'ALTER' if existing else 'CREATE'} ROLE {q(role)} {options}")
        if existing is None:
            conn.exec_driver_sql(f"COMMENT ON ROLE {q(role)} IS '{MARK}'")
        schemas = data_schemas(conn)
        scope = resolve_tables(conn, tables, schemas) if tables else None
        _strip(conn, role)
        database = conn.execute(sa.text("SELECT current_database()")).scalar()
        conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {q(database)} TO {q(role)}")
        _apply(conn, role, scope, schemas)
        defaults = [] if scope is not None else [owner for owner in _owners(conn, schemas) if _try(
            conn, f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} GRANT SELECT ON TABLES TO {q(role)}") and _try(
            conn, f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} GRANT USAGE ON SCHEMAS TO {q(role)}")]
        logged = _try(conn, f"ALTER ROLE {q(role)} SET log_statement = 'all'")
        writable = conn.execute(sa.text(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(:s) AND has_schema_privilege(:r, oid, 'CREATE')"),
            {"s": schemas, "r": role}).scalars().all()
        conn.execute(sa.text(
            f"INSERT INTO {db.SCHEMA}.grants (role, scope, expires_at) VALUES (:r, CAST(:s AS jsonb), :u) "
            "ON CONFLICT (role) DO UPDATE SET scope = EXCLUDED.scope, expires_at = EXCLUDED.expires_at, "
            "updated_at = now()"), {"r": role, "s": _json(scope), "u": until})
        result = {"role": role, "created": existing is None, "expires": until.isoformat() if until else None,
                  "scope": scope or "all", "log_statement": logged,
                  "future_tables_of": defaults, "password_set": secret is not None,
                  "warnings": [f"schema {s}: PUBLIC may CREATE there; revoke it to keep the role read-only"
                               for s in writable]}
        db.append_db_in(conn, {"command": "access grant", "actor": actor, "target": identity(conn.engine.url),
                               **result})
    return {**result, **({"password": generated} if generated else {})}


def revoke(url: str | URL, role: str, *, actor: str | None = None) -> dict[str, Any]:
    """Take the role's access to this database and drop the role (kept if it still has access elsewhere)."""
    check_role_name(role)
    with db.begin(url, f"access revoke {role}") as conn:
        _begin(conn)
        recorded = conn.execute(sa.text(f"DELETE FROM {db.SCHEMA}.grants WHERE role = :r RETURNING role"),
                                {"r": role}).first()
        if _managed(conn, role, "revoke") is None:
            if recorded is None:
                raise ConfigError(f"access revoke: no role {role}; see `sanitizer access list`")
            dropped = False  # someone dropped the role by hand; forget its grant
        else:
            _strip(conn, role)
            dropped = _try(conn, f"DROP ROLE {q(role)}")
        result = {"role": role, "dropped": dropped}
        db.append_db_in(conn, {"command": "access revoke", "actor": actor, "target": identity(conn.engine.url),
                               **result})
    return result


def list_access(url: str | URL) -> list[dict[str, Any]]:
    """Who may read this staging database: role, since (first grant after the last revoke), until, what."""
    with db.begin(url, "access list") as conn:
        if not db.exists(conn, "grants"):
            return []
        rows = conn.execute(sa.text(f"""
            SELECT g.role, g.scope, CASE WHEN isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END AS until,
                   r.rolcanlogin AS can_login,
                   coalesce(r.rolvaliduntil < now(), false) AS expired, r.oid IS NOT NULL AS role_exists,
                   EXISTS (SELECT 1 FROM pg_db_role_setting s WHERE s.setrole = r.oid
                           AND 'log_statement=all' = ANY(s.setconfig)) AS log_statement,
                   (SELECT min(e.time) FROM {db.SCHEMA}.events e WHERE e.command = 'access grant'
                      AND e.details->>'role' = g.role AND e.id > coalesce((SELECT max(v.id) FROM {db.SCHEMA}.events v
                          WHERE v.command = 'access revoke' AND v.details->>'role' = g.role), 0)) AS since,
                   (SELECT e.actor FROM {db.SCHEMA}.events e WHERE e.command = 'access grant'
                      AND e.details->>'role' = g.role ORDER BY e.id DESC LIMIT 1) AS granted_by
            FROM {db.SCHEMA}.grants g LEFT JOIN pg_roles r ON r.rolname = g.role ORDER BY g.role""")).mappings()
        return [{**row, "scope": row["scope"] or "all"} for row in rows]


def reapply_grants(conn: sa.Connection, schema_map: dict[str, str] | None = None) -> int:
    """Re-grant every recorded access inside a load transaction, before the swap; returns roles touched.

    `schema_map` maps live schema names to the shadow schemas about to replace them; privileges stay
    with the tables through the rename. Needed for `--tables` grants (default privileges cover only
    whole-database grants) and for tables created by a role other than the one that granted.
    """
    if not db.exists(conn, "grants"):
        return 0
    mapping = schema_map or {}
    schemas = sorted(set(data_schemas(conn)) | set(mapping.values()))
    count = 0
    for role, scope in conn.execute(sa.text(
            f"SELECT g.role, g.scope FROM {db.SCHEMA}.grants g JOIN pg_roles r ON r.rolname = g.role")).all():
        renamed = None if scope is None else [
            f"{mapping.get(s, s)}.{t}" for s, _, t in (name.partition(".") for name in scope)]
        targets = [s for s in schemas if s in mapping.values()] if mapping and scope is None else schemas
        _apply(conn, role, renamed, targets)
        count += 1
    return count


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value)
