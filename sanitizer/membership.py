"""Fast "is this 64-bit fingerprint in that set?" for millions of fingerprints at a time.

Binary search over a big sorted array costs ~23 cache misses per lookup; on the refresh benchmark it
was a third of the run. A one-hash Bloom filter (a bitmap addressed by a fingerprint's top bits) costs
one, and lets only ~5% of non-members through to the exact search. Fingerprints are seeded hashes
(`keyed_fingerprints`), so their top bits are uniform.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from .keys import Keyring

BITS_PER_MEMBER = 16  # ~6% false candidates at full load, ~3% just after growing
MIN_BITS, MAX_BITS = 16, 29  # 8 KiB .. 64 MiB


def keyed_fingerprints(keyring: Keyring, domain: str, values: pa.Array) -> np.ndarray:
    """Keyed 64-bit fingerprints of values' text: what the leak check and the uniqueness ledger compare,
    never the values themselves. Polars hashes a whole column in native code (30 times the speed of
    hashing Python strings one by one), seeded by a sub-key of the masking key. Its hash may change
    between Polars versions, so a fingerprint means something only inside the run that made it."""
    if not len(values):
        return np.empty(0, np.uint64)
    text = values if pa.types.is_string(values.type) or pa.types.is_large_string(values.type) \
        else pc.cast(values, pa.string())
    seed = int.from_bytes(keyring.subkey(domain)[:8], "little")
    return pl.Series(text).hash(seed=seed).to_numpy().copy()  # writable: callers sort in place


def sorted_unique(values: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """np.unique for fingerprints, by sorting: numpy 2.4's plain np.unique took 1.5 s on 2M uint64
    (a hash-based path) where np.sort takes 10 ms. in_place sorts `values` itself (no copy)."""
    if in_place:
        values.sort()
        ordered = values
    else:
        ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


class Prefilter:
    """A bitmap with one bit set per member; grows (rebuilt from `members`) as members are added."""

    def __init__(self, members: np.ndarray | None = None, expected: int = 0) -> None:
        """Sized for `expected` members (or those given), filled with `members`."""
        self.count = 0
        self._build(members if members is not None else np.empty(0, np.uint64), expected)

    def _build(self, members: np.ndarray, expected: int = 0) -> None:
        wanted = np.log2(max(len(members), expected, 1) * BITS_PER_MEMBER)
        self.bits = int(min(max(np.ceil(wanted), MIN_BITS), MAX_BITS))
        self.bitmap = np.zeros(1 << (self.bits - 3), np.uint8)
        self.count = 0
        self.add(members)

    def _address(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top = values >> np.uint64(64 - self.bits)
        return (top >> np.uint64(3)).astype(np.intp), (top & np.uint64(7)).astype(np.uint8)

    def needs_growing(self, more: int) -> bool:
        """True when `more` members would overload the bitmap (rebuild it from all members then)."""
        return (self.count + more) * BITS_PER_MEMBER > (1 << self.bits) and self.bits < MAX_BITS

    def add(self, members: np.ndarray) -> None:
        if len(members):
            byte, bit = self._address(members)
            np.bitwise_or.at(self.bitmap, byte, np.left_shift(np.uint8(1), bit))
            self.count += len(members)

    def rebuild(self, members: np.ndarray) -> None:
        self._build(members)

    def maybe(self, values: np.ndarray) -> np.ndarray:
        """A mask over `values`: True for every member (and a few non-members)."""
        byte, bit = self._address(values)
        return (np.right_shift(self.bitmap[byte], bit) & 1).astype(bool)

    def candidates(self, values: np.ndarray) -> np.ndarray:
        """The values that may be members (every member among them)."""
        return values[self.maybe(values)]
