"""Keyed digit replacement inside text, keeping every other character in place (digits, phone, scrub).

The digits to replace are read from the Arrow data buffer in one pass, grouped by how many there
are, read as a number and put through a keyed permutation of [0, 10**d) with no fixed point, then
written back at the same byte positions. So "4111-1111-1111-1111" keeps its dashes, distinct inputs
of one shape stay distinct, and no input with a replaceable digit comes back unchanged.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._feistel import permutation
from .base import Context

CHUNK = 19  # 10**19 < 2**64: longer digit runs are permuted in chunks (each chunk tweaked by its index)
POW10 = np.array([10**i for i in range(CHUNK)], dtype=np.uint64)


def string_buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets starting at 0, data bytes) of a string array without nulls."""
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], np.int32)[values.offset:values.offset + len(values) + 1]
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.empty(0, np.uint8)
    data = data[offsets[0]:offsets[-1]]
    return (offsets - offsets[0]).astype(np.int64), data


def from_buffers(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    return pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets.astype(np.int32).tobytes()),
                                       pa.py_buffer(np.ascontiguousarray(data).tobytes()))


def replace_digits(values: pa.Array, ctx: Context, domain: str, *, keep_leading: np.ndarray | None = None,
                   luhn: bool = False) -> pa.Array:
    """Replace ASCII digits of each (non-null) value keyed; keep the first keep_leading[i] digits."""
    offsets, data = string_buffers(values)
    n = len(offsets) - 1
    row = np.repeat(np.arange(n, dtype=np.int32), np.diff(offsets))
    is_digit = (data - np.uint8(48)) < np.uint8(10)  # one unsigned compare: '0' <= byte <= '9'
    before = np.zeros(len(data) + 1, np.int32)
    np.cumsum(is_digit, dtype=np.int32, out=before[1:])
    counts = before[offsets[1:]] - before[offsets[:-1]]
    body = is_digit
    ordinal = None
    if keep_leading is not None or luhn:
        ordinal = before[:-1] - before[offsets[:-1]][row]  # digits before this byte in its value
        body = is_digit.copy()
        if keep_leading is not None:
            body &= ordinal >= keep_leading.astype(np.int32)[row]
        if luhn:
            body &= ~((ordinal == (counts - 1)[row]) & (counts >= 2)[row])
    out = data.copy()
    positions = np.flatnonzero(body)
    if len(positions):
        body_len = counts if ordinal is None else np.bincount(row[positions], minlength=n).astype(np.int32)
        lengths = np.unique(body_len[body_len > 0])
        if len(lengths) > 1:  # group the bytes by their value's digit count; stable keeps value order
            key = body_len[row[positions]]
            positions = positions[np.argsort(key.astype(np.uint8) if lengths[-1] < 256 else key, kind="stable")]
        start = 0
        for d in lengths.tolist():
            stop = start + d * int(np.count_nonzero(body_len == d))
            span = positions[start:stop]
            digits = (data[span] - np.uint8(48)).reshape(-1, d).astype(np.uint64)
            out[span] = (_permute(digits, ctx, domain) + np.uint64(48)).astype(np.uint8).ravel()
            start = stop
    if luhn:
        _fix_luhn(out, is_digit, ordinal, counts, row)
    return from_buffers(offsets, out)


def _permute(digits: np.ndarray, ctx: Context, domain: str) -> np.ndarray:
    """Keyed derangement of each row of an (m, d) digit matrix, read as a d-digit number."""
    d = digits.shape[1]
    result = np.empty_like(digits)
    for lo in range(0, d, CHUNK):
        hi = min(lo + CHUNK, d)
        width = hi - lo
        number = digits[:, lo:hi] @ POW10[:width][::-1]
        mixed = permutation(ctx, domain, 10**width, tweak=f"digits|{d}|{lo}").derange(number)
        for j in range(width - 1, -1, -1):
            result[:, lo + j] = mixed % np.uint64(10)
            mixed //= np.uint64(10)
    return result


def _fix_luhn(out: np.ndarray, is_digit: np.ndarray, ordinal: np.ndarray, counts: np.ndarray,
              row: np.ndarray) -> None:
    """Rewrite each value's last digit so the digits pass the Luhn check (values with >= 2 digits)."""
    pos = np.flatnonzero(is_digit)
    r, o = row[pos], ordinal[pos]
    c = counts[r]
    payload = o < c - 1
    from_right = (c - 2 - o)[payload]
    d = (out[pos[payload]] - 48).astype(np.int64)
    doubled = np.where(from_right % 2 == 0, d * 2, d)
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    sums = np.bincount(r[payload], weights=doubled, minlength=len(counts)).astype(np.int64)
    check = (10 - sums % 10) % 10
    last = pos[(o == c - 1) & (c >= 2)]
    out[last] = (check[row[last]] + 48).astype(np.uint8)


def luhn_valid(text: str) -> bool:
    """The Luhn checksum over the digits of text (card numbers)."""
    digits = [int(c) for c in text if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0
