"""The binary COPY framing kernel: columns -> one COPY stream -> the same columns, however it is cut."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sanitizer.source import pg_copy

pytestmark = pytest.mark.skipif(not pg_copy.binary_copy_available(), reason="the _pgcopy kernel was not built")

cell = st.one_of(st.none(), st.binary(max_size=40))


def stream_of(columns: list[pa.Array]) -> bytes:
    return pg_copy.binary_stream(pa.RecordBatch.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))]))


def read_back(data: bytes, columns: int, chunk: int, block: int) -> list[list[bytes | None]]:
    """Read the stream as psql's pipe hands it over (at most `chunk` bytes per read), in blocks of `block`."""
    import io

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.pos = 0

        def readinto(self, buffer) -> int:
            piece = data[self.pos:self.pos + min(chunk, len(buffer))]
            buffer[:len(piece)] = piece
            self.pos += len(piece)
            return len(piece)

        def readable(self) -> bool:
            return True

    schema = pa.schema([pa.field(f"c{i}", pa.binary()) for i in range(columns)])
    out: list[list[bytes | None]] = [[] for _ in range(columns)]
    for batch in pg_copy.binary_batches(io.BufferedReader(Pipe(), buffer_size=chunk), schema, block):
        for i, column in enumerate(batch.columns):
            out[i] += column.to_pylist()
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.lists(st.lists(cell, min_size=n, max_size=n), max_size=30)),
       st.integers(1, 64), st.integers(8, 200), st.integers(0, 3))
def test_columns_survive_the_round_trip_however_the_stream_is_cut(rows, chunk, block, skip) -> None:
    """Pipe reads of any size, and blocks smaller than one tuple (the buffer grows) or holding many."""
    width = len(rows[0]) if rows else 2
    columns = [pa.array([r[i] for r in rows], pa.binary()) for i in range(width)]
    sliced = [c.slice(min(skip, len(c))) for c in columns]  # arrays with an offset, as slices of batches have
    expected = [c.to_pylist() for c in sliced]
    assert read_back(stream_of(sliced), width, chunk, block) == expected


def test_the_stream_is_what_postgresql_documents() -> None:
    data = stream_of([pa.array(["ab", None], pa.string()), pa.array([b"\x00", b""], pa.binary())])
    assert data[:11] == b"PGCOPY\n\xff\r\n\x00" and data[11:19] == bytes(8)
    body = data[19:]
    assert body == (b"\x00\x02" + b"\x00\x00\x00\x02ab" + b"\x00\x00\x00\x01\x00"
                    + b"\x00\x02" + b"\xff\xff\xff\xff" + b"\x00\x00\x00\x00" + b"\xff\xff")


def test_a_tuple_with_another_field_count_is_refused() -> None:
    data = stream_of([pa.array([b"x"]), pa.array([b"y"])])
    with pytest.raises(ValueError, match="has 2 fields, expected 3"):
        pg_copy._pgcopy.split(data, 19, 3)


def test_a_negative_length_other_than_null_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        pg_copy._pgcopy.split(b"\x00\x01\xff\xff\xff\xfe", 0, 1)


def test_an_incomplete_tuple_waits_for_more_bytes() -> None:
    data = stream_of([pa.array([b"hello", b"world"])])
    cut = 19 + 2 + 4 + 5 + 2 + 4 + 2  # the first tuple and part of the second
    rows, end, ended, _ = pg_copy._pgcopy.split(data[:cut], 19, 1)
    assert (rows, end, ended) == (1, 19 + 11, 0)


def test_text_that_is_not_utf8_is_refused() -> None:
    data = stream_of([pa.array([b"\xff\xfe"])])
    rows, _, _, columns = pg_copy._pgcopy.split(data, 19, 1)
    with pytest.raises(pa.ArrowInvalid):
        pg_copy._binary_batch(pa.schema([pa.field("t", pa.string())]), rows, columns)


def test_the_pipe_from_psql_is_widened_where_the_os_allows() -> None:
    import os

    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("Linux pipes only")

    read, write = os.pipe()
    try:
        pg_copy._widen_pipe(read)
        assert fcntl.fcntl(read, fcntl.F_GETPIPE_SZ) >= pg_copy.PIPE_BYTES
    finally:
        os.close(read)
        os.close(write)
