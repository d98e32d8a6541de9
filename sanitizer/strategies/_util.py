"""Shared vectorized helpers for strategy modules (private: the registry skips `_` modules).

Everything here works on whole Arrow/numpy arrays so strategies stay free of per-row Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from .base import Context

B32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", np.uint8)
HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def fixed_width_strings(chars: np.ndarray) -> pa.Array:
    """An Arrow string array from an (n, width) uint8 matrix of ASCII codes, without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    data = np.ascontiguousarray(chars, dtype=np.uint8).tobytes()
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def b32_tags(hashes: np.ndarray, width: int = 8, shift: int = 24) -> pa.Array:
    """Lower-case base32 tags of `width` characters from the high bits of keyed 64-bit hashes.

    With the defaults this is exactly base32 of the 40 bits `hashes >> 24`, big-endian.
    """
    top = shift + 5 * (width - 1)
    shifts = np.array([top - 5 * i for i in range(width)], dtype=np.uint64)
    index = (hashes[:, None] >> shifts[None, :]) & np.uint64(31)
    return fixed_width_strings(B32[index])


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fast bijective mixer of uint64 arrays (used with secret round keys)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def pick(pool: pa.Array, hashes: np.ndarray, avoid: pa.Array | None = None) -> pa.Array:
    """Pool entries chosen by keyed hashes; where an entry equals `avoid`, step to the next one."""
    index = (hashes % np.uint64(len(pool))).astype(np.int64)
    picked = pool.take(pa.array(index))
    if avoid is not None and len(pool) > 1 and picked.type == avoid.type:
        same = pc.fill_null(pc.equal(picked, avoid), False).to_numpy(zero_copy_only=False)
        if same.any():
            picked = pool.take(pa.array(np.where(same, (index + 1) % len(pool), index)))
    return picked


def keep_nulls(values: pa.Array, out: pa.Array) -> pa.Array:
    """`out` with NULL wherever `values` is NULL."""
    if not values.null_count:
        return out
    return pc.if_else(pc.is_null(values), pa.nulls(len(values), out.type), out)


def row_keys(ctx: Context, columns: list[str], strategy: str) -> pa.Array:
    """One text key per row from the ORIGINAL values of `columns` (NULL as a distinct marker)."""
    parts = []
    for name in columns:
        if name not in ctx.original:
            raise ConfigError(f"{ctx.column.qualified}: {strategy} seed column {name!r} is not in the table "
                              f"{ctx.column.table}; name columns of the same table in seed_columns")
        col = ctx.original[name]
        text = col if pa.types.is_string(col.type) else pc.cast(col, pa.string())
        parts.append(pc.fill_null(pc.binary_join_element_wise(pa.scalar("="), text, ""), "\x00"))
    return pc.binary_join_element_wise(*parts, "\x1f")


def row_hashes(ctx: Context, domain: str, columns: list[str], strategy: str) -> np.ndarray:
    """Keyed uint64 per row from the seed columns' original values, computed once per distinct key."""
    keys = row_keys(ctx, columns, strategy)
    encoded = keys.dictionary_encode()
    per_distinct = ctx.uint64(domain, encoded.dictionary)
    return per_distinct[encoded.indices.to_numpy(zero_copy_only=False)]


def spread(values: pa.Array, out_for_rows: pa.Array) -> pa.Array:
    """Row-level output with NULL kept where the column's own value is NULL."""
    return keep_nulls(values, out_for_rows)


def require_text(name: str, column) -> str | None:
    if not column.is_text:
        return f"{name} writes text but the column is {column.type_name}"
    return None


def known_locale(locale: str) -> str:
    """Validate a Faker locale (no silent fallback to en_US)."""
    from faker.config import AVAILABLE_LOCALES

    if locale not in AVAILABLE_LOCALES:
        raise ValueError(f"unknown Faker locale {locale!r}; e.g. en_US, de_DE, fr_FR")
    return locale
