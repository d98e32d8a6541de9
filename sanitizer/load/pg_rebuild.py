"""Rebuild the source's schemas in the target from pg_dump's DDL, inside the target's one transaction.

Design ("rename away"): the live staging schema `s` is renamed to `sanitizer_old_s` first, then the
DDL runs verbatim and creates `s` anew — no rewriting of schema names inside SQL text, which would be
unsafe in function bodies, view definitions and string literals. Neither the rename nor the loading
takes a lock on the live tables, and the rename is invisible to other sessions until COMMIT, so readers
of staging keep reading the old, complete data without waiting during the whole load. Only the final
`DROP SCHEMA sanitizer_old_s CASCADE` takes ACCESS EXCLUSIVE locks on the old tables, immediately
before COMMIT (it waits for running queries; new ones wait for the commit, then see the new tables).
Measured against the former shadow-schema design (build `sanitizer_new_s`, rename at the end): readers
during the load answered in 1 ms with the old rows in both; both block only in the DROP->COMMIT window.
A killed process or any error rolls back everything: the rename, the new schemas, the rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from ..schema.pgddl import SchemaDDL, pg_ident
from ..source.pg_copy import quote_ident

OLD_PREFIX = "sanitizer_old_"
# settings pg_dump's scripts change for the session; put back so later statements see the usual ones
DUMP_SETTINGS = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "client_encoding",
                 "standard_conforming_strings", "search_path", "check_function_bodies", "xmloption",
                 "client_min_messages", "row_security", "default_table_access_method", "default_tablespace")


def old_name(schema: str) -> str:
    return f"{OLD_PREFIX}{schema}"[:63]


def rename_away(conn: sa.Connection, schemas: list[str]) -> list[str]:
    """Rename the live schemas that the source's DDL will create anew; returns their new names."""
    existing = set(conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname = ANY(:s)"),
                                {"s": schemas}).scalars())
    old = []
    for schema in schemas:
        if schema in existing:
            conn.exec_driver_sql(f"ALTER SCHEMA {quote_ident(schema)} RENAME TO {quote_ident(old_name(schema))}")
            old.append(old_name(schema))
    return old


def create_schemas(conn: sa.Connection, ddl: SchemaDDL, old: list[str]) -> None:
    """Create the schemas, then the source's extensions, before any table needs their types.

    pg_dump -n leaves extensions out. One living in a schema being replaced is moved into the new
    schema (else DROP ... CASCADE of the old one would take it, and every column of its types, along).
    """
    old_of = {old_name(s): s for s in ddl.schemas if old_name(s) in old}
    for schema in ddl.schemas:
        conn.exec_driver_sql(f"CREATE SCHEMA {quote_ident(schema)}")
        if old_name(schema) in old_of:
            _keep_schema_properties(conn, old_name(schema), schema)
    present = dict(conn.execute(sa.text(
        "SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace")).all())
    for name, schema in ddl.extensions:
        where = present.get(name)
        if where is None:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
            conn.exec_driver_sql(f"CREATE EXTENSION {quote_ident(name)} WITH SCHEMA {quote_ident(schema)}")
        elif where in old_of:
            conn.exec_driver_sql(f"ALTER EXTENSION {quote_ident(name)} SET SCHEMA {quote_ident(old_of[where])}")


def _keep_schema_properties(conn: sa.Connection, old: str, new: str) -> None:
    """Give the new schema the replaced one's owner, privileges and comment: they belong to staging
    (its roles, e.g. `public`'s initdb owner pg_database_owner and USAGE for PUBLIC), not to the source.
    A comment the source sets still wins: pre-data runs afterwards. The owner is kept where this role
    may give it (savepoint: a refusal must not abort the load)."""
    owner, comment = conn.execute(sa.text(
        "SELECT pg_get_userbyid(nspowner), obj_description(oid, 'pg_namespace') FROM pg_namespace "
        "WHERE nspname = :n"), {"n": old}).one()
    if owner != conn.execute(sa.text("SELECT current_user")).scalar():
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"ALTER SCHEMA {quote_ident(new)} OWNER TO {quote_ident(owner)}")
        except sa.exc.DBAPIError:
            pass
    for grantee, privilege, grantable in conn.execute(sa.text(
            "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, "
            "a.is_grantable FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a "
            "WHERE n.nspname = :n AND a.grantee <> n.nspowner"), {"n": old}).all():
        to = "PUBLIC" if grantee is None else quote_ident(grantee)
        option = " WITH GRANT OPTION" if grantable else ""
        conn.exec_driver_sql(f"GRANT {privilege} ON SCHEMA {quote_ident(new)} TO {to}{option}")
    if comment is not None:
        with conn.connection.driver_connection.cursor() as cur:  # no parameters: % and : are plain text
            cur.execute(f"COMMENT ON SCHEMA {quote_ident(new)} IS {_literal(comment)}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run_script(conn: sa.Connection, script: str) -> None:
    """Run a pg_dump script in one round trip (simple query protocol: no parameters), then undo its SETs."""
    if not script.strip():
        return
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(script)
    for name in DUMP_SETTINGS:
        conn.exec_driver_sql(f"RESET {name}")


def generated_columns(conn: sa.Connection, schemas: list[str]) -> dict[str, set[str]]:
    """Qualified table -> its generated columns, which COPY refuses: the database computes them."""
    rows = conn.execute(sa.text(
        "SELECT n.nspname, c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(:s) AND a.attgenerated <> '' "
        "AND a.attnum > 0 AND NOT a.attisdropped"), {"s": schemas}).all()
    found: dict[str, set[str]] = {}
    for schema, table, column in rows:
        found.setdefault(f"{schema}.{table}", set()).add(column)
    return found


def finish(conn: sa.Connection, ddl: SchemaDDL, sequences: dict[str, tuple[int, bool]]) -> None:
    """After the rows: keys, indexes, FKs, triggers (post-data), the source's sequence values, matview
    data computed from the sanitized rows, and planner statistics."""
    keys_and_indexes, rest = split_at_foreign_keys(ddl.post_data)
    run_script(conn, keys_and_indexes)
    if rest is not keys_and_indexes:
        with foreign_key_check_memory(conn):
            run_script(conn, rest)
    for schema, name in conn.execute(sa.text(
            "SELECT schemaname, sequencename FROM pg_sequences WHERE schemaname = ANY(:s)"),
            {"s": ddl.schemas}).all():
        value = sequences.get(f"{schema}.{name}")
        if value is not None:
            conn.execute(sa.text("SELECT setval(CAST(:s AS regclass), :v, :c)"),
                         {"s": f"{pg_ident(schema)}.{pg_ident(name)}", "v": value[0], "c": value[1]})
    for matview in ddl.populated_matviews:  # dependency order: pg_dump's
        conn.exec_driver_sql(f"REFRESH MATERIALIZED VIEW {matview}")
    for schema, name in conn.execute(sa.text(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(:s) AND c.relkind IN ('r', 'p', 'm') ORDER BY 1, 2"), {"s": ddl.schemas}).all():
        conn.exec_driver_sql(f"ANALYZE {quote_ident(schema)}.{quote_ident(name)}")


# memory for the query that checks the rows of a new foreign key (PostgreSQL gives it maintenance_work_mem):
# a hash join whose table fits the CPU's cache, in batches, beats one big table. Refresh benchmark (2M
# orders -> 1M users), by setting: 256MB 1.55 s, 64MB 1.3 s, 8MB 0.84 s, 4MB 0.69 s, 1MB 0.61 s. Index
# builds keep the target's larger setting: below 32MB per process PostgreSQL builds them without workers.
FOREIGN_KEY_CHECK_MEMORY = "4MB"
FIRST_FOREIGN_KEY = re.compile(r"^--\n-- Name: [^\n]*; Type: FK CONSTRAINT; Schema: ", re.MULTILINE)
OBJECT_HEADER = re.compile(r"^--\n-- Name: ", re.MULTILINE)


def split_at_foreign_keys(script: str) -> tuple[str, str]:
    """pg_dump's post-data script as (what comes before its first FK constraint, the rest), the rest led by
    the script's opening SETs so that it runs as it would have: run one after the other, they do what the
    script does. Without a foreign key: (script, script), the same object twice."""
    found = FIRST_FOREIGN_KEY.search(script)
    if found is None:
        return script, script
    first_object = OBJECT_HEADER.search(script)
    preamble = script[:first_object.start()] if first_object is not None else ""
    return script[:found.start()], preamble + script[found.start():]


@contextmanager
def foreign_key_check_memory(conn: sa.Connection) -> Iterator[None]:
    """FOREIGN_KEY_CHECK_MEMORY as maintenance_work_mem inside the block, the setting before after it."""
    before = conn.exec_driver_sql("SHOW maintenance_work_mem").scalar()
    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{FOREIGN_KEY_CHECK_MEMORY}'")
    yield  # an error here aborts the transaction: nothing more is sent, the rollback undoes the SET too
    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{before}'")


def drop_old(conn: sa.Connection, old: list[str]) -> None:
    """Drop the replaced schemas: the only step that locks the live tables, right before COMMIT."""
    for schema in old:
        conn.exec_driver_sql(f"DROP SCHEMA {quote_ident(schema)} CASCADE")
