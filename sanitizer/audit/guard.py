"""Guard rails: never load into production, never load into a database sanitizer did not set up, and
never mask two environments with the same key unless someone says so (and it is audited).

The marker is `sanitizer_audit.environment` (one row: the environment's name) in the target database;
the keys seen there are in `sanitizer_audit.key_fingerprints`. A production database is protected by
giving it the marker `production` (`mark_environment(url, "production")`, or the SQL in the docs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from ..errors import ConfigError
from ..urls import identity, parse, redact
from . import db
from .log import read_file

PRODUCTION = "production"
# what people write on a production database when they mark it by hand (docs/access-and-audit.md)
PRODUCTION_NAMES = frozenset({PRODUCTION, "prod", "prd", "live"})


def is_production(name: str | None) -> bool:
    """Whether an environment name means production, however it is cased or spaced."""
    return name is not None and name.strip().lower() in PRODUCTION_NAMES
ENV_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


def check_environment_name(name: str) -> str:
    if not ENV_NAME.fullmatch(name):
        raise ConfigError(f"--environment {name!r}: use lower-case letters, digits, - and _, e.g. staging")
    return name


def environment_of(conn: sa.Connection) -> str | None:
    """The target's marker, or None when it has none."""
    if not db.exists(conn, "environment"):
        return None
    return conn.execute(sa.text(f"SELECT name FROM {db.SCHEMA}.environment")).scalar()


def user_tables(conn: sa.Connection) -> int:
    """Tables outside the system and sanitizer schemas: a database with any is not blank."""
    return conn.execute(sa.text(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
        "AND n.nspname NOT LIKE 'sanitizer\\_%'")).scalar() or 0


def check_target_allowed(url: str | URL, environment_name: str, *, force: bool = False) -> dict[str, Any]:
    """Refuse (ConfigError) a target that must not be loaded; return what was found.

    Always refused: a database marked `production`, and loading anything *as* production. Refused unless
    `force`: a database marked for another environment, and one with user tables but no marker (it may
    be production or someone's hand-made database). Record `forced: True` in the run's audit record.
    """
    check_environment_name(environment_name)
    url = parse(url, what="target") if isinstance(url, str) else url
    where = f"--target {redact(url)}"
    if is_production(environment_name):
        raise ConfigError(f"{where}: --environment {environment_name}: sanitizer loads staging-like copies, never "
                          "production; name the environment this target serves, e.g. staging")
    with db.begin(url, "checking the target") as conn:
        marked = environment_of(conn)
        tables = user_tables(conn)
    if is_production(marked):
        raise ConfigError(f"{where}: this database is marked as environment {marked!r}; sanitizer never "
                          "writes there. If the marker is wrong, see docs/access-and-audit.md (Markers)")
    if marked is not None and marked != environment_name and not force:
        raise ConfigError(f"{where}: this database is marked as environment {marked!r}, the run says "
                          f"{environment_name!r}; pass --environment {marked} or, if it really changes, --force")
    if marked is None and tables and not force:
        raise ConfigError(f"{where}: the database has {tables} tables but no sanitizer marker, so it may be "
                          "production or hand-made; point --target at an empty database, or pass --force "
                          "once if it is a staging database (the run then marks it)")
    return {"environment": marked, "user_tables": tables,
            "forced": force and (marked not in (None, environment_name) or (marked is None and tables > 0))}


def mark_environment(conn_or_url: sa.Connection | str | URL, name: str, *, actor: str | None = None) -> str | None:
    """Set the target's marker; a change is audited. Returns the previous name (None when unmarked)."""
    check_environment_name(name)
    if not isinstance(conn_or_url, sa.Connection):
        with db.begin(conn_or_url, "marking the environment") as conn:
            return mark_environment(conn, name, actor=actor)
    conn = conn_or_url
    db.lock(conn)
    db.ensure_schema(conn)
    previous = environment_of(conn)
    if previous != name:
        conn.execute(sa.text(
            f"INSERT INTO {db.SCHEMA}.environment (name) VALUES (:n) "
            "ON CONFLICT (singleton) DO UPDATE SET name = EXCLUDED.name, marked_at = now()"), {"n": name})
        db.append_db_in(conn, {"command": "environment mark", "actor": actor, "environment": name,
                               "previous_environment": previous, "target": identity(conn.engine.url)})
    return previous


def record_key_fingerprint(conn: sa.Connection, env: str, fingerprint: str) -> None:
    """Remember that this key fingerprint masked data for `env` (inside the load transaction)."""
    check_environment_name(env)
    db.lock(conn)
    db.ensure_schema(conn)
    conn.execute(sa.text(
        f"INSERT INTO {db.SCHEMA}.key_fingerprints (fingerprint, environment) VALUES (:f, :e) "
        "ON CONFLICT (fingerprint, environment) DO UPDATE SET last_seen = now()"), {"f": fingerprint, "e": env})


def fingerprints_in_file(path: Path) -> set[tuple[str, str]]:
    """(environment, key fingerprint) pairs of the runs in a local audit file that name their environment."""
    if not path.exists():
        return set()
    return {(str(r["environment"]), str(r["key_fingerprint"])) for r in read_file(path)
            if r.get("environment") and r.get("key_fingerprint")}


def check_key_reuse(conn_or_url: sa.Connection | str | URL, env: str, fingerprint: str, *,
                    allow_key_reuse: bool = False, known: Iterable[tuple[str, str]] = (),
                    actor: str | None = None) -> list[str]:
    """Refuse a key already used for another environment; with `allow_key_reuse`, audit the reuse.

    Other environments come from the target's own fingerprint table and from `known` (environment,
    fingerprint) pairs, e.g. `fingerprints_in_file(audit_file)`. Returns the other environments.
    """
    check_environment_name(env)
    if not isinstance(conn_or_url, sa.Connection):
        with db.begin(conn_or_url, "checking the key") as conn:
            return check_key_reuse(conn, env, fingerprint, allow_key_reuse=allow_key_reuse, known=known,
                                   actor=actor)
    conn = conn_or_url
    others = {e for e, f in known if f == fingerprint and e != env}
    if db.exists(conn, "key_fingerprints"):
        others |= set(conn.execute(sa.text(
            f"SELECT environment FROM {db.SCHEMA}.key_fingerprints WHERE fingerprint = :f AND environment <> :e"),
            {"f": fingerprint, "e": env}).scalars())
    found = sorted(others)
    if found and not allow_key_reuse:
        raise ConfigError(f"key {fingerprint}: already used for environment(s) {', '.join(found)}; one key per "
                          "environment keeps pseudonyms from linking across them. Use this environment's key "
                          "(SANITIZER_KEY_FILE), or pass --allow-key-reuse (it is audited)")
    if found:
        db.append_db_in(conn, {"command": "key reuse", "actor": actor, "environment": env,
                               "key_fingerprint": fingerprint, "other_environments": found,
                               "target": identity(conn.engine.url)})
    return found
