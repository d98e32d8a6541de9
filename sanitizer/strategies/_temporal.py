"""Helpers for date and number strategies: keyed offsets and day arithmetic on Arrow arrays."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

US_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1 / 1_000}
UNIT_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def is_temporal(t: pa.DataType) -> bool:
    return pa.types.is_date(t) or pa.types.is_timestamp(t)


def is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def unit_interval(hashes: np.ndarray) -> np.ndarray:
    """Keyed uniform floats in [0, 1) from 64-bit hashes."""
    return (hashes >> np.uint64(11)).astype(np.float64) / 2.0**53


def nonzero_offsets(hashes: np.ndarray, n: int) -> np.ndarray:
    """Keyed integers in [-n, -1] U [1, n], uniform: never zero."""
    k = (hashes % np.uint64(2 * n)).astype(np.int64)
    return np.where(k < n, k - n, k - n + 1)


def add_days(values: pa.Array, days: np.ndarray) -> pa.Array:
    """values + days for date32/date64/timestamp arrays, keeping the type (and time of day)."""
    t = values.type
    if pa.types.is_timestamp(t):
        raw = pc.fill_null(pc.cast(values, pa.int64()), 0).to_numpy(zero_copy_only=False)
        out = pa.array(raw + days * UNIT_PER_DAY[t.unit], pa.int64(), mask=_nulls(values))
        return pc.cast(out, t)
    as32 = pc.cast(values, pa.date32()) if pa.types.is_date64(t) else values
    raw = pc.fill_null(pc.cast(as32, pa.int32()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    out = pc.cast(pa.array((raw + days).astype(np.int32), pa.int32(), mask=_nulls(values)), pa.date32())
    return pc.cast(out, t) if t != pa.date32() else out


def days_of(values: pa.Array) -> np.ndarray:
    """Days since 1970-01-01 (floor) of a date or timestamp array; NULL rows read as 0."""
    t = values.type
    if pa.types.is_timestamp(t):
        raw = pc.fill_null(pc.cast(values, pa.int64()), 0).to_numpy(zero_copy_only=False)
        return np.floor_divide(raw, UNIT_PER_DAY[t.unit])
    as32 = pc.cast(values, pa.date32()) if pa.types.is_date64(t) else values
    return pc.fill_null(pc.cast(as32, pa.int32()), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def from_days(days: np.ndarray, like: pa.Array) -> pa.Array:
    """Dates (midnight for timestamps) from day numbers, in like's type, NULL where like is NULL."""
    out = pc.cast(pa.array(days.astype(np.int32), pa.int32(), mask=_nulls(like)), pa.date32())
    if pa.types.is_timestamp(like.type):
        return pc.cast(pc.cast(out, pa.timestamp(like.type.unit)), like.type)
    return pc.cast(out, like.type)


def to_float(values: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.cast(values, pa.float64()), 0.0).to_numpy(zero_copy_only=False)


def from_float(x: np.ndarray, like: pa.Array) -> pa.Array:
    """Floats back to like's number type (integers rounded), NULL where like is NULL."""
    t = like.type
    mask = _nulls(like)
    if pa.types.is_integer(t):
        info = np.iinfo(t.to_pandas_dtype())
        out = pa.array(np.clip(np.rint(x), info.min, info.max).astype(np.int64), pa.int64(), mask=mask)
        return pc.cast(out, t)
    out = pa.array(x, pa.float64(), mask=mask)
    if pa.types.is_decimal(t):
        scaled = np.round(x, t.scale)
        return pc.cast(pa.array(scaled, pa.float64(), mask=mask), t, safe=False)
    return pc.cast(out, t)


def _nulls(values: pa.Array) -> np.ndarray | None:
    return pc.is_null(values).to_numpy(zero_copy_only=False) if values.null_count else None
