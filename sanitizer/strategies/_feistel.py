"""A keyed permutation of [0, size): a balanced Feistel network with cycle-walking, on numpy arrays.

Used by int_permute (integer keys) and digits/phone (digit strings as numbers), so both are
bijections: distinct inputs stay distinct by construction, not by luck. The round function is
splitmix64's mixer under secret 64-bit round keys derived from the keyring per (domain, size);
it is fast and keyed, not a vetted block cipher (see the module docs of int_permute).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa

from ._util import mix64
from .base import Context

ROUNDS = 10


class KeyedPermutation:
    """Encrypt/decrypt uint64 arrays inside [0, size); `derange` never maps a value to itself."""

    def __init__(self, size: int, round_keys: tuple[int, ...]) -> None:
        if size < 1 or size > 1 << 64:
            raise ValueError("size must be in [1, 2**64]")
        self.size = size
        self.half = max(1, ((size - 1).bit_length() + 1) // 2)
        self.mask = np.uint64((1 << self.half) - 1)
        self.keys = [np.uint64(k) for k in round_keys]

    def _f(self, half: np.ndarray, key: np.uint64) -> np.ndarray:
        return mix64(half ^ key) & self.mask

    def _encrypt_once(self, x: np.ndarray) -> np.ndarray:
        h = np.uint64(self.half)
        left, right = x >> h, x & self.mask
        for key in self.keys:
            left, right = right, left ^ self._f(right, key)
        return (left << h) | right

    def _decrypt_once(self, x: np.ndarray) -> np.ndarray:
        h = np.uint64(self.half)
        left, right = x >> h, x & self.mask
        for key in reversed(self.keys):
            left, right = right ^ self._f(left, key), left
        return (left << h) | right

    def _walk(self, step, x: np.ndarray) -> np.ndarray:
        y = step(x)
        if self.size == 1 << (2 * self.half):
            return y
        size = np.uint64(self.size - 1)
        outside = np.flatnonzero(y > size)
        while len(outside):
            y[outside] = step(y[outside])
            outside = outside[y[outside] > size]
        return y

    def encrypt(self, x: np.ndarray) -> np.ndarray:
        return self._walk(self._encrypt_once, x.astype(np.uint64, copy=True))

    def decrypt(self, x: np.ndarray) -> np.ndarray:
        return self._walk(self._decrypt_once, x.astype(np.uint64, copy=True))

    def derange(self, x: np.ndarray) -> np.ndarray:
        """D(E(x) + 1 mod size): still a keyed bijection, and one with no fixed point when size > 1."""
        if self.size == 1:
            return x.astype(np.uint64, copy=True)
        y = self.encrypt(x)
        with np.errstate(over="ignore"):
            y = y + np.uint64(1)
        if self.size < 1 << 64:
            y[y == np.uint64(self.size)] = 0
        return self.decrypt(y)


def permutation(ctx: Context, domain: str, size: int, tweak: str = "") -> KeyedPermutation:
    """The keyed permutation of [0, size) for this key and domain (round keys from ctx's PRF)."""
    labels = pa.array([f"feistel|{size}|{tweak}|{half}" for half in (0, 1)], pa.string())
    return _cached(size, ctx.digest_matrix(domain, labels, size=4 * ROUNDS).tobytes())


@lru_cache(maxsize=256)
def _cached(size: int, raw: bytes) -> KeyedPermutation:
    keys = tuple(int.from_bytes(raw[8 * i:8 * i + 8], "little") for i in range(ROUNDS))
    return KeyedPermutation(size, keys)
