"""Read a PostgreSQL table with COPY ... TO STDOUT (FORMAT csv) into Arrow batches of text columns.

No row is decoded in Python. Preferred: `psql` runs the COPY in a session that adopts the run's exported
snapshot (SET TRANSACTION SNAPSHOT, READ ONLY) and pipes the CSV to Arrow's streaming CSV reader, so no
Python code runs per row at all (psycopg hands COPY data over one row at a time: ~1 us of Python per row,
3 s of a 3M-row refresh). Without psql or an exported snapshot, psycopg's COPY rows are gathered into
blocks of about BLOCK_BYTES and parsed by Arrow; each COPY data message is one whole row, so block edges
are row edges even with newlines inside values.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as csv
from sqlalchemy.engine import URL

from ..schema.model import TableInfo
from ..urls import libpq_invocation

BLOCK_BYTES = 4 << 20


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified_name(info: TableInfo) -> str:
    return f"{quote_ident(info.schema)}.{quote_ident(info.name)}" if info.schema else quote_ident(info.name)


def copy_batches(raw_connection, info: TableInfo, block_bytes: int | None = None,
                 select: tuple[str, dict] | None = None) -> Iterator[pa.RecordBatch]:
    """Stream a table — or a SELECT of its columns in order, with its parameters — as record batches whose
    columns are all PostgreSQL text."""
    block_bytes = block_bytes or BLOCK_BYTES
    names = info.column_names
    schema = pa.schema([pa.field(n, pa.string()) for n in names])
    columns = ", ".join(quote_ident(n) for n in names)
    query, params = select or (f"SELECT {columns} FROM ONLY {qualified_name(info)}", None)
    sql = f"COPY ({query}) TO STDOUT (FORMAT csv)"
    read_options = csv.ReadOptions(column_names=names, use_threads=True)
    convert = _convert(names)
    parse = csv.ParseOptions(newlines_in_values=True)
    with raw_connection.cursor() as cur, cur.copy(sql, params) as copy:
        block: list[bytes] = []
        size = 0
        for row in copy:
            block.append(bytes(row))
            size += len(row)
            if size >= block_bytes:
                yield from _parse(block, schema, read_options, parse, convert)
                block, size = [], 0
        if block:
            yield from _parse(block, schema, read_options, parse, convert)


PSQL_ENV = "SANITIZER_PSQL"  # path of the psql to read with; "none" turns the psql path off


def find_psql() -> str | None:
    """psql from $SANITIZER_PSQL, else PATH, else beside pg_dump; None when there is none."""
    explicit = os.environ.get(PSQL_ENV)
    if explicit:
        return None if explicit == "none" or not Path(explicit).is_file() else explicit
    found = shutil.which("psql")
    if found:
        return found
    from ..schema.pgddl import find_pg_dump

    pg_dump = find_pg_dump()
    sibling = Path(pg_dump).with_name("psql") if pg_dump else None
    return str(sibling) if sibling is not None and sibling.is_file() else None


class PsqlFailed(Exception):
    """psql ended with an error; the message is psql's first error line (names objects, not data)."""


def psql_copy_batches(psql: str, url: URL, snapshot: str, info: TableInfo,
                      block_bytes: int | None = None) -> Iterator[pa.RecordBatch]:
    """The table's rows read by psql in the run's snapshot, as record batches of text columns."""
    names = info.column_names
    schema = pa.schema([pa.field(n, pa.string()) for n in names])
    columns = ", ".join(quote_ident(n) for n in names)
    conninfo, env = libpq_invocation(url, "sanitizer-read", PGOPTIONS="-c default_transaction_read_only=on")
    command = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", conninfo,
               "-c", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
               "-c", f"SET TRANSACTION SNAPSHOT '{snapshot}'",
               "-c", f"COPY (SELECT {columns} FROM ONLY {qualified_name(info)}) TO STDOUT (FORMAT csv)"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env)
    try:
        assert process.stdout is not None
        if process.stdout.peek(1):  # Arrow refuses an empty stream; an empty table has no bytes at all
            reader = csv.open_csv(process.stdout, read_options=csv.ReadOptions(
                column_names=names, block_size=block_bytes or BLOCK_BYTES, use_threads=False),
                parse_options=csv.ParseOptions(newlines_in_values=True), convert_options=_convert(names))
            for batch in reader:
                yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        process.stdout.close()
        errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
        if process.wait() != 0:
            lines = [ln for ln in errors.splitlines() if ln.strip()] or [f"psql exited with {process.returncode}"]
            raise PsqlFailed(next((ln for ln in lines if "ERROR" in ln), lines[0])[:300])
    finally:
        if process.poll() is None:  # the consumer stopped early or failed: do not leave psql reading
            process.kill()
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def _convert(names: list[str]) -> csv.ConvertOptions:
    return csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), null_values=[""],
                              strings_can_be_null=True, quoted_strings_can_be_null=False)


def _parse(block, schema, read_options, parse, convert) -> Iterator[pa.RecordBatch]:
    table = csv.read_csv(io.BytesIO(b"".join(block)), read_options=read_options, parse_options=parse,
                         convert_options=convert)
    # one batch per block: the parser's own ~1 MiB chunks would make every later per-batch cost
    # (strategies' vectorized calls, worker round trips, COPY statements) 8 times as frequent
    for batch in table.combine_chunks().to_batches():
        yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)


def write_csv_batch(raw_connection, table_sql: str, batch: pa.RecordBatch) -> None:
    """COPY one batch of text columns into a table in one write."""
    buffer = io.BytesIO()
    # every value quoted: a lone \. is then data, not the end-of-data marker
    options = csv.WriteOptions(include_header=False, quoting_style="all_valid")
    csv.write_csv(batch, buffer, write_options=options)
    columns = ", ".join(quote_ident(n) for n in batch.schema.names)
    with raw_connection.cursor() as cur, cur.copy(f"COPY {table_sql} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getbuffer())
