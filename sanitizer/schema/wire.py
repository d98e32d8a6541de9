"""PostgreSQL's text (CSV) form of values, and the way between it and typed Arrow arrays.

On the PostgreSQL path rows travel as PostgreSQL writes them in COPY ... (FORMAT csv): every column is
text, exactly as the server prints it, so any type (enums, arrays, tsvector, json, ranges) survives the
round trip and a column no strategy touches is never decoded. Only columns a strategy transforms are
decoded to their Arrow type, and encoded back afterwards.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from .model import ColumnInfo


def decode(values: pa.Array, column: ColumnInfo) -> pa.Array:
    """Text as PostgreSQL prints it -> the column's Arrow type (vectorized where Arrow can parse it)."""
    target = column.arrow_type
    if pa.types.is_string(target) or not pa.types.is_string(values.type):
        return values
    if pa.types.is_boolean(target):
        return pc.equal(values, "t")
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if pa.types.is_timestamp(target):  # offsets like +05:30 or +00 that Arrow's parser refuses
            distinct = values.dictionary_encode()
            texts = distinct.dictionary.to_pylist()
            parsed = pa.array([datetime.fromisoformat(v) for v in texts], type=target)
            return parsed.take(distinct.indices)
        raise


def encode(values: pa.Array, column: ColumnInfo) -> pa.Array:
    """A typed Arrow array -> text PostgreSQL's COPY accepts for the column."""
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_boolean(values.type):
        return pc.if_else(values, "t", "f")
    if pa.types.is_binary(values.type):
        return pa.array([None if v is None else "\\x" + v.hex() for v in values.to_pylist()], pa.string())
    return pc.cast(values, pa.string())
