"""The source's PostgreSQL schema as `pg_dump` writes it, so that staging gets exactly the same schema.

SQLAlchemy reflection loses much of a PostgreSQL schema (domains, enums' ordering, generated and
identity columns, partitioning, views, triggers, comments, deferrable or NOT VALID constraints,
expression indexes...). pg_dump knows all of it and orders it by dependency, so we take its DDL
verbatim: pre-data (types, functions, tables, sequences, views) before the rows, post-data (keys,
indexes, FKs, triggers, rules) after them, as pg_restore does. Running post-data after the load means
triggers do not fire and FKs need no disabling (no superuser, no session_replication_role).

pg_dump reads the source in the very snapshot the rows come from when the source exported it
(`--snapshot`); otherwise in its own, a moment apart (schema changes in between then surface as load
errors, never as silent drift). No pg_dump binary, or one older than the server, means no DDL here:
the target falls back to its reflected DDL and says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import URL

from ..errors import SourceError
from ..urls import libpq_invocation, redact

PG_DUMP_ENV = "SANITIZER_PG_DUMP"  # path of the pg_dump to use, when not the one on PATH
DUMP_OPTIONS = ("--schema-only", "--no-owner", "--no-privileges", "--no-tablespaces", "--no-security-labels",
                "--no-publications", "--no-subscriptions", "--strict-names")
# psql meta-commands pg_dump >= 17.6/16.10/15.14 wraps its output in; they are not SQL
META_COMMAND = re.compile(r"^\\(un)?restrict\b.*$", re.MULTILINE)
PLAIN_IDENT = re.compile(r"^[a-z_][a-z0-9_$]*$")
MATVIEW = re.compile(r"^CREATE MATERIALIZED VIEW (?P<name>.+?) AS$", re.MULTILINE)
BUILTIN_EXTENSIONS = {"plpgsql"}


@dataclass
class SchemaDDL:
    """What the target needs to rebuild the source's schemas: DDL around the rows, plus facts pg_dump
    leaves to its data section (which matviews hold data) or omits under -n (extensions)."""

    schemas: list[str]
    pre_data: str
    post_data: str
    populated_matviews: list[str] = field(default_factory=list)  # quoted qualified names, creation order
    extensions: list[tuple[str, str]] = field(default_factory=list)  # (extension, schema it lives in)
    snapshot: str | None = None  # the exported snapshot pg_dump used, None if it read its own

    def pre_data_without_schemas(self) -> str:
        """Pre-data minus the CREATE SCHEMA statements: the target creates the schemas itself first,
        so that extensions can go into them before any table uses their types."""
        text = self.pre_data
        for schema in self.schemas:
            text = text.replace(f"\nCREATE SCHEMA {pg_ident(schema)};\n", "\n")
        return text


def pg_ident(name: str) -> str:
    """An identifier as pg_dump prints it: bare when it may be, else double-quoted."""
    if PLAIN_IDENT.match(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def find_pg_dump() -> str | None:
    explicit = os.environ.get(PG_DUMP_ENV)
    if explicit:
        return explicit
    return shutil.which("pg_dump")


def dump_schema(conn: sa.Connection, url: URL, schemas: list[str], snapshot: str | None) -> SchemaDDL | None:
    """Run pg_dump for the source's user schemas; None (with a warning) when pg_dump cannot be used here.

    `conn` is the source's snapshot transaction, for what pg_dump does not say in a schema-only dump.
    """
    binary = find_pg_dump()
    if binary is None:
        _warn("no pg_dump on PATH (or in $SANITIZER_PG_DUMP): staging gets tables, keys and indexes only, "
              "without views, triggers, domains, partitioning or comments; install the PostgreSQL client")
        return None
    if not schemas:
        return SchemaDDL(schemas=[], pre_data="", post_data="", snapshot=snapshot)
    conninfo, env = libpq_invocation(url, "sanitizer-schema")
    base = [binary, "--dbname", conninfo, *DUMP_OPTIONS]
    base += [f'--schema="{s.replace(chr(34), chr(34) * 2)}"' for s in schemas]
    if snapshot:
        base += ["--snapshot", snapshot]
    sections = {}
    for section in ("pre-data", "post-data"):
        try:
            done = subprocess.run([*base, f"--section={section}"], capture_output=True, text=True, env=env,
                                  timeout=600, check=False)
        except OSError as exc:
            _warn(f"cannot run {binary} ({exc.strerror}): staging gets tables, keys and indexes only")
            return None
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or ["no message"]
            reason = next((ln for ln in lines if "error:" in ln), lines[-1])
            if "version mismatch" in done.stderr:
                _warn(f"{' '.join(lines)[:300]}; staging gets tables, keys and indexes only: install a "
                      f"pg_dump at least as new as the source server, or point ${PG_DUMP_ENV} to one")
                return None
            raise SourceError(f"pg_dump of the source schema {redact(url)} failed: {reason[:300]}")
        sections[section] = META_COMMAND.sub("", done.stdout)
    return SchemaDDL(schemas=list(schemas), pre_data=sections["pre-data"], post_data=sections["post-data"],
                     populated_matviews=_populated_matviews(conn, sections["pre-data"]),
                     extensions=_extensions(conn), snapshot=snapshot)


def _populated_matviews(conn: sa.Connection, pre_data: str) -> list[str]:
    """Matviews the source has data in, in pg_dump's (dependency) order: those get REFRESHed after the
    load; an unpopulated one stays unpopulated, as in the source."""
    populated = {f"{pg_ident(s)}.{pg_ident(n)}" for s, n in conn.execute(sa.text(
        "SELECT schemaname, matviewname FROM pg_matviews WHERE ispopulated")).all()}
    return [m.group("name") for m in MATVIEW.finditer(pre_data) if m.group("name") in populated]


def _extensions(conn: sa.Connection) -> list[tuple[str, str]]:
    rows = conn.execute(sa.text(
        "SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "ORDER BY e.oid")).all()
    return [(name, schema) for name, schema in rows if name not in BUILTIN_EXTENSIONS]


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)
