"""PostgreSQL's text (CSV) form of values, and the way between it and typed Arrow arrays.

On the PostgreSQL path rows travel as PostgreSQL writes them in COPY ... (FORMAT csv): every column is
text, exactly as the server prints it, so any type (enums, arrays, tsvector, json, ranges) survives the
round trip and a column no strategy touches is never decoded. Only columns a strategy transforms are
decoded to their Arrow type, and encoded back afterwards.
"""

from __future__ import annotations

from datetime import datetime, time

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SourceError
from .model import ColumnInfo


def decode(values: pa.Array, column: ColumnInfo) -> pa.Array:
    """Text as PostgreSQL prints it -> the column's Arrow type (vectorized where Arrow can parse it)."""
    target = column.arrow_type
    if pa.types.is_string(target) or not pa.types.is_string(values.type):
        return values
    if pa.types.is_boolean(target):
        return pc.equal(values, "t")
    try:
        if pa.types.is_binary(target) or pa.types.is_large_binary(target):
            return _per_distinct(values, target, _bytea)
        if pa.types.is_time(target):
            return _per_distinct(values, target, time.fromisoformat)
    except ValueError as exc:  # e.g. PostgreSQL's time 24:00:00, which Python's time cannot hold
        raise SourceError(f"{column.qualified} ({column.type_name}): a value cannot be read as {target} "
                          f"({str(exc).split(':')[0]}); keep the column on a PostgreSQL target, or cast it") from None
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if pa.types.is_timestamp(target):  # offsets like +05:30 or +00 that Arrow's parser refuses
            distinct = values.dictionary_encode()
            texts = distinct.dictionary.to_pylist()
            parsed = pa.array([datetime.fromisoformat(v) for v in texts], type=target)
            return parsed.take(distinct.indices)
        raise


def _per_distinct(values: pa.Array, target: pa.DataType, parse) -> pa.Array:
    """Parse each distinct text once in Python, for types Arrow cannot cast text to (bytea, time)."""
    distinct = values.dictionary_encode()
    parsed = pa.array([None if v is None else parse(v) for v in distinct.dictionary.to_pylist()], type=target)
    return parsed.take(distinct.indices)


def _bytea(text: str) -> bytes:
    """PostgreSQL's hex output of bytea ("\\x00ff"), the server's default since 9.0."""
    if not text.startswith("\\x"):
        raise ValueError("bytea in escape format; set bytea_output = 'hex' for the source role")
    return bytes.fromhex(text[2:])


def encode(values: pa.Array, column: ColumnInfo) -> pa.Array:
    """A typed Arrow array -> text PostgreSQL's COPY accepts for the column."""
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_boolean(values.type):
        return pc.if_else(values, "t", "f")
    if pa.types.is_binary(values.type):
        return pa.array([None if v is None else "\\x" + v.hex() for v in values.to_pylist()], pa.string())
    return pc.cast(values, pa.string())
