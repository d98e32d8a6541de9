"""Read a PostgreSQL table with COPY ... TO STDOUT into Arrow batches, and write batches with COPY FROM.

No row is decoded in Python. Preferred: `psql` runs the COPY in a session that adopts the run's exported
snapshot (SET TRANSACTION SNAPSHOT, READ ONLY) and pipes the CSV to Arrow's streaming CSV reader, so no
Python code runs per row at all (psycopg hands COPY data over one row at a time: ~1 us of Python per row,
3 s of a 3M-row refresh). Without psql or an exported snapshot, psycopg's COPY rows are gathered into
blocks of about BLOCK_BYTES and parsed by Arrow; each COPY data message is one whole row, so block edges
are row edges even with newlines inside values.

PostgreSQL to PostgreSQL, tables whose every column may travel so (see Source.binary_columns) go in
the binary format instead, split and joined by a native kernel (_pgcopy.c): the servers skip text
formatting and parsing (about 1.5x the rows/s both ways) and values no strategy reads stay opaque.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as csv
from sqlalchemy.engine import URL

from ..schema.model import TableInfo
from ..urls import libpq_invocation

# bytes of COPY data per batch: every batch pays ~15 ms of fixed per-call costs in the strategies and the
# leak check, a third of the masking time at 4 MiB on the refresh benchmark (users 3.0 s -> 2.3 s at 8 MiB);
# peak RSS 430-500 MB there at 16 MiB, 520-570 MB at 32 MiB
BLOCK_BYTES = 16 << 20
BINARY_WIRE = {b"sanitizer.copy": b"binary"}  # schema metadata of batches in binary COPY form
BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
PIPE_BYTES = 1 << 20

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None

try:  # the binary COPY path needs the native framing kernel (sanitizer/_pgcopy.c)
    from .. import _pgcopy
except ImportError:  # built without a C compiler: the CSV path does everything
    _pgcopy = None


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
                      block_bytes: int | None = None, where: str = "") -> Iterator[pa.RecordBatch]:
    """The table's rows (those `where` selects: a ctid range) read by psql in the run's snapshot, as record
    batches of text columns."""
    names = info.column_names
    schema = pa.schema([pa.field(n, pa.string()) for n in names])
    with _psql_copy_out(psql, url, snapshot, info, "csv", where) as stdout:
        if stdout.peek(1):  # Arrow refuses an empty stream; an empty table has no bytes at all
            reader = csv.open_csv(stdout, read_options=csv.ReadOptions(
                column_names=names, block_size=block_bytes or BLOCK_BYTES, use_threads=False),
                parse_options=csv.ParseOptions(newlines_in_values=True), convert_options=_convert(names))
            for batch in reader:
                yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)


def psql_copy_binary_batches(psql: str, url: URL, snapshot: str, info: TableInfo, text_columns: set[str],
                             block_bytes: int | None = None, where: str = "") -> Iterator[pa.RecordBatch]:
    """The table's rows in PostgreSQL's binary COPY format, read by psql in the run's snapshot: each
    column as the server sent its values (a `binary` array), `text_columns` as strings (their binary
    form is their UTF-8 text). Batches are marked BINARY_WIRE; only PostgresTarget writes them."""
    names = info.column_names
    schema = pa.schema([pa.field(n, pa.string() if n in text_columns else pa.binary()) for n in names],
                       metadata=BINARY_WIRE)
    block_bytes = block_bytes or BLOCK_BYTES
    with _psql_copy_out(psql, url, snapshot, info, "binary", where) as stdout:
        yield from binary_batches(stdout, schema, block_bytes)


def binary_batches(stdout: BinaryIO, schema: pa.Schema, block_bytes: int) -> Iterator[pa.RecordBatch]:
    """A binary COPY stream (header, tuples, end marker) as batches of about block_bytes each."""
    ended = not _read_binary_header(stdout)
    # one buffer for the whole stream: fresh 16 MiB blocks cost page faults in every batch; a tuple
    # longer than the buffer grows it
    buffer, have = bytearray(block_bytes), 0
    while not ended:
        if have == len(buffer):
            buffer.extend(bytes(len(buffer)))
        with memoryview(buffer) as free:
            got = stdout.readinto(free[have:])
        if not got:
            raise PsqlFailed("the binary COPY stream ended before its end-of-data marker")
        have += got
        with memoryview(buffer) as filled:
            rows, end, ended, columns = _pgcopy.split(filled[:have], 0, len(schema))
        if end:
            buffer[:have - end] = buffer[end:have]  # the start of a tuple that is not all here yet
            have -= end
        if rows:
            yield _binary_batch(schema, rows, columns)
    if have or stdout.read(1):
        raise PsqlFailed("the binary COPY stream goes on after its end-of-data marker")


def _widen_pipe(fd: int) -> None:
    """Let the pipe from psql hold 1 MiB instead of 64 KiB (Linux): fewer wake-ups of both sides for the
    hundreds of MiB a big table sends. Refused (a lower pipe-max-size, another OS): the pipe stays as is."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, PIPE_BYTES)


def _read_binary_header(stdout: BinaryIO) -> bool:
    """Read the binary COPY header; False for an empty stream (psql sends nothing for an empty table)."""
    head = stdout.read(19)
    if not head:
        return False
    if len(head) < 19 or head[:11] != BINARY_SIGNATURE:
        raise PsqlFailed("the server's COPY output is not in PostgreSQL's binary format")
    extension = int.from_bytes(head[15:19], "big")
    if extension and len(stdout.read(extension)) < extension:
        raise PsqlFailed("the binary COPY header is cut short")
    return True


def _binary_batch(schema: pa.Schema, rows: int, columns: list[tuple]) -> pa.RecordBatch:
    arrays = []
    for field, (offsets, values, validity, nulls) in zip(schema, columns, strict=True):
        buffers = [None if validity is None else pa.py_buffer(validity), pa.py_buffer(offsets), pa.py_buffer(values)]
        array = pa.Array.from_buffers(field.type, rows, buffers, null_count=nulls)
        if field.type == pa.string():
            array.validate(full=True)  # UTF-8, as Arrow's CSV reader checks on the text path
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


@contextmanager
def _psql_copy_out(psql: str, url: URL, snapshot: str, info: TableInfo, fmt: str,
                   where: str = "") -> Iterator[BinaryIO]:
    """psql running `COPY (SELECT <columns>) TO STDOUT (FORMAT fmt)` in the snapshot; yields its stdout.
    A psql that fails raises PsqlFailed with its first error line; one still running at exit is killed."""
    columns = ", ".join(quote_ident(n) for n in info.column_names)
    conninfo, env = libpq_invocation(url, "sanitizer-read", PGOPTIONS="-c default_transaction_read_only=on",
                                     PGCLIENTENCODING="UTF8")
    command = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", conninfo,
               "-c", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
               "-c", f"SET TRANSACTION SNAPSHOT '{snapshot}'",
               "-c", f"COPY (SELECT {columns} FROM ONLY {qualified_name(info)}{where}) TO STDOUT (FORMAT {fmt})"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env)
    try:
        assert process.stdout is not None
        _widen_pipe(process.stdout.fileno())
        yield process.stdout
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


def binary_copy_available() -> bool:
    return _pgcopy is not None


def is_binary_wire(batch: pa.RecordBatch) -> bool:
    """True for batches of psql_copy_binary_batches (and what strategies made of them)."""
    return batch.schema.metadata is not None and batch.schema.metadata.get(b"sanitizer.copy") == b"binary"


def binary_stream(batch: pa.RecordBatch) -> bytes:
    """A whole binary COPY stream (header, one tuple per row, end marker) of binary-wire columns."""
    specs = []
    for array in batch.columns:
        validity, offsets, values = array.buffers()[:3]
        specs.append((values if values is not None else b"", offsets, validity, array.offset))
    return _pgcopy.join(specs, batch.num_rows)


def write_binary_batch(raw_connection, table_sql: str, batch: pa.RecordBatch) -> None:
    """COPY one batch of binary-wire columns (values as the source server sent them, text as UTF-8)
    into a table in one write, in PostgreSQL's binary format."""
    _copy_in(raw_connection, table_sql, batch.schema.names, "binary", binary_stream(batch))


def write_csv_batch(raw_connection, table_sql: str, batch: pa.RecordBatch) -> None:
    """COPY one batch of text columns into a table in one write."""
    buffer = io.BytesIO()
    # every value quoted: a lone \. is then data, not the end-of-data marker
    options = csv.WriteOptions(include_header=False, quoting_style="all_valid")
    csv.write_csv(batch, buffer, write_options=options)
    _copy_in(raw_connection, table_sql, batch.schema.names, "csv", buffer.getbuffer())


def _copy_in(raw_connection, table_sql: str, names: list[str], fmt: str, data) -> None:
    """One `COPY table (columns) FROM STDIN (FORMAT fmt)` carrying `data`, a whole stream."""
    columns = ", ".join(quote_ident(n) for n in names)
    with raw_connection.cursor() as cur, cur.copy(f"COPY {table_sql} ({columns}) FROM STDIN (FORMAT {fmt})") as copy:
        copy.write(data)
