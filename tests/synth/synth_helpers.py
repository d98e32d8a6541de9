"""Shared by the synth tests: an empty copy of a fixture's schema with every constraint, and a COPY loader."""

from __future__ import annotations

import subprocess

import psycopg
import pyarrow as pa
from sqlalchemy.engine import make_url

from sanitizer.schema.model import SchemaInfo
from sanitizer.schema.wire import encode
from sanitizer.source.pg_copy import quote_ident, write_csv_batch


def libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq (pg_dump, psql, psycopg) takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def schema_copy(pg_server, source_url: str, *sections: str) -> str:
    """A new database holding `pg_dump --schema-only` of the source (only `sections` when given)."""
    url = pg_server.new_database("synth")
    args = [f"--section={s}" for s in sections]
    dump = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-privileges", *args, libpq(source_url)],
                          capture_output=True, check=True, timeout=120).stdout
    apply_sql(url, dump)
    return url


def apply_sql(url: str, sql: bytes) -> None:
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", libpq(url)], input=sql, capture_output=True,
                   check=True, timeout=120)


def post_data(source_url: str) -> bytes:
    """The source's constraints, indexes and triggers (pg_dump's post-data section)."""
    return subprocess.run(["pg_dump", "--schema-only", "--section=post-data", "--no-owner", "--no-privileges",
                           libpq(source_url)], capture_output=True, check=True, timeout=120).stdout


def load(url: str, schema: SchemaInfo, tables: dict[str, pa.Table]) -> dict[str, int]:
    """COPY each table (in the order given: parents first) into the database in one transaction."""
    with psycopg.connect(libpq(url)) as conn:
        for name, table in tables.items():
            if table.num_rows == 0:
                continue
            info = schema.tables[name]
            columns = [c for c in info.columns if c.name in table.schema.names]
            text = pa.RecordBatch.from_arrays([encode(table.column(c.name).combine_chunks(), c) for c in columns],
                                              names=[c.name for c in columns])
            write_csv_batch(conn, f"{quote_ident(info.schema)}.{quote_ident(info.name)}", text)
        conn.commit()
        return {name: conn.execute(f"SELECT count(*) FROM {quote_ident(schema.tables[name].schema)}."
                                   f"{quote_ident(schema.tables[name].name)}").fetchone()[0] for name in tables}


def copy_subset(source, plan, url: str) -> dict[str, int]:
    """Run each subset SELECT on the source snapshot and COPY its rows into `url`, in the plan's order,
    the way the PostgreSQL reader would once wired (COPY (<select>) TO STDOUT with the driver's params)."""
    from sanitizer.synth.subset import driver_sql, subset_queries

    queries = subset_queries(source, plan)
    raw = source.connection.connection.driver_connection
    counts = {}
    with psycopg.connect(libpq(url)) as dst:
        for name, query in queries.items():
            info = source.schema.tables[name]
            sql, params = driver_sql(query, source.connection)
            columns = ", ".join(quote_ident(c) for c in info.column_names)
            target = f"{quote_ident(info.schema)}.{quote_ident(info.name)}"
            with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT", params) as out, dst.cursor() as wcur, \
                    wcur.copy(f"COPY {target} ({columns}) FROM STDIN") as into:
                counts[name] = 0
                for row in out:  # one COPY data message per row
                    into.write(row)
                    counts[name] += 1
        dst.commit()
    return counts
