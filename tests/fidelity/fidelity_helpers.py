"""Helpers for the schema-fidelity tests: normalised schema dumps, table checksums."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import sqlalchemy as sa

USER_TABLES = ("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.relkind IN ('r', 'm') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' "
               "AND n.nspname NOT LIKE 'sanitizer\\_%' ORDER BY 1, 2")

PUBLIC_NOTE = ("--\n-- Name: public; Type: SCHEMA; Schema: -; Owner: -\n--\n\n"
               "-- *not* creating schema, since initdb creates it\n\n\n")


def rows(url: str, sql: str, params: dict | None = None) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params or {})]
    finally:
        engine.dispose()


def schema_dump(url: str) -> str:
    """pg_dump --schema-only of the user schemas, without what legitimately differs between two databases:
    owners and grants (staging has its own roles), the audit schema, and pg_dump's session noise."""
    binary = shutil.which("pg_dump")
    if binary is None:
        pytest.skip("no pg_dump on PATH to compare schemas with")
    conninfo = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run([binary, "--dbname", conninfo, "--schema-only", "--no-owner", "--no-privileges",
                           "--exclude-schema=sanitizer_*"], capture_output=True, text=True, check=True)
    text = re.sub(r"^\\(un)?restrict .*$|^-- Dumped (from|by) .*$", "", done.stdout, flags=re.MULTILINE)
    # only an owner other than initdb's makes pg_dump mention `public`; staging keeps its own owner
    return text.replace(PUBLIC_NOTE, "")


def counts(url: str) -> dict[str, int]:
    return {f"{s}.{t}": rows(url, f'SELECT count(*) FROM "{s}"."{t}"')[0][0] for s, t in rows(url, USER_TABLES)
            if not _unpopulated(url, s, t)}


def _unpopulated(url: str, schema: str, name: str) -> bool:
    return bool(rows(url, "SELECT 1 FROM pg_matviews WHERE schemaname = :s AND matviewname = :n "
                          "AND NOT ispopulated", {"s": schema, "n": name}))


def checksums(url: str) -> dict[str, tuple[int, int]]:
    """Order-independent (row count, hash sum) of every user table: equal means same rows."""
    return {f"{s}.{t}": rows(url, f'SELECT count(*), coalesce(sum(hashtextextended(x::text, 0)), 0) '
                                  f'FROM "{s}"."{t}" x')[0] for s, t in rows(url, USER_TABLES)
            if not _unpopulated(url, s, t)}


def sequences(url: str) -> list[tuple]:
    return rows(url, "SELECT schemaname, sequencename, last_value FROM pg_sequences "
                     "WHERE schemaname NOT LIKE 'sanitizer\\_%' ORDER BY 1, 2")


def leftovers(url: str) -> list[str]:
    """sanitizer schemas other than the audit log's."""
    return [r[0] for r in rows(url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sanitizer\\_%' "
                                    "AND nspname <> 'sanitizer_audit'")]
