"""The masking key: where it comes from, and the keyed pseudo-random function built on it.

Every keyed output of sanitizer derives from one secret through HMAC-SHA256 (to get a master key of
fixed size) and keyed BLAKE2b (per domain), so a dictionary attack without the key learns nothing,
and the same (key, domain, value) gives the same digest in every table, batch, run and process.

Arrays of values are hashed by a small C kernel (sanitizer/_native.c) when it was built: the same
digests as hashlib, without a Python call per value. Without it, hashlib per distinct value.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from .errors import ConfigError

try:
    from ._native import keyed_blake2b as _native_blake2b
except ImportError:  # built without a C compiler: hashlib gives the same digests, slower
    _native_blake2b = None

KEY_ENV = "SANITIZER_KEY"
KEY_FILE_ENV = "SANITIZER_KEY_FILE"
DEMO_KEY = "sanitizer-demo-key-not-secret"
MIN_KEY_LENGTH = 16


MEMO_VALUES = 1 << 16  # distinct values whose digests a domain remembers (~100 bytes each)
MEMO_PROBE = 1 << 15  # values looked up before a domain that rarely repeats stops remembering
MEMO_MIN_HITS = 0.2  # share of values found in the memo below which it is not worth its lookups


class Keyring:
    """Holds the master key and derives one sub-key per domain; never prints the key."""

    __slots__ = ("_master", "_memos")

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        self._master = hmac.new(raw, b"sanitizer/master/v1", hashlib.sha256).digest()
        self._memos: dict[tuple[str, int], _Memo] = {}

    def __getstate__(self) -> bytes:  # sent to worker processes: the key, not what was remembered
        return self._master

    def __setstate__(self, master: bytes) -> None:
        self._master, self._memos = master, {}

    def __repr__(self) -> str:
        return f"Keyring(fingerprint={self.fingerprint})"

    @property
    def fingerprint(self) -> str:
        """A short public identifier of the key, safe to record in reports and audit logs."""
        return hashlib.blake2b(b"fingerprint", key=self._master, digest_size=8).hexdigest()

    def subkey(self, domain: str) -> bytes:
        return _subkey(self._master, domain)

    def digests(self, domain: str, values: Iterable[bytes], size: int = 16) -> list[bytes]:
        """Keyed BLAKE2b of each value under the domain's sub-key.

        Strategies hash each distinct value of a batch; first names, cities or product codes come
        back in every batch, so a domain remembers the digests of values it has seen (a pure cache:
        the digests are the same with or without it) until it shows it rarely repeats."""
        # the keyed state after the key block, copied per value: the same digests as
        # blake2b(v, key=key), without compressing the key block again for every value
        keyed = hashlib.blake2b(key=self.subkey(domain), digest_size=size)
        memo = self._memos.get((domain, size))
        if memo is None:
            memo = self._memos.setdefault((domain, size), _Memo())
        if memo.off:
            return [_digest(keyed.copy(), v) for v in values]
        values = values if isinstance(values, list) else list(values)
        known = memo.digests
        found = [known.get(v) for v in values]
        missing = [i for i, d in enumerate(found) if d is None]
        for i in missing:
            found[i] = _digest(keyed.copy(), values[i])
        memo.note(values, found, missing)
        return found

    def digest_matrix(self, domain: str, values: pa.Array, size: int = 16) -> np.ndarray:
        """`digests` of a binary Arrow array without NULLs, as an (n, size) uint8 matrix."""
        if len(values) == 0:
            return np.empty((0, size), np.uint8)
        if _native_blake2b is not None and values.null_count == 0:
            wide = pa.types.is_large_binary(values.type)
            offsets = np.frombuffer(values.buffers()[1], np.int64 if wide else np.int32)
            data = values.buffers()[2]
            out = np.empty((len(values), size), np.uint8)
            _native_blake2b(self.subkey(domain), size, b"" if data is None else data,
                            offsets[values.offset:values.offset + len(values) + 1], len(values), wide, out)
            return out
        digests = self.digests(domain, values.to_pylist(), size)
        return np.frombuffer(b"".join(digests), np.uint8).reshape(len(digests), size).copy()

    def uint64(self, domain: str, values: pa.Array) -> np.ndarray:
        """Keyed 64-bit integers, one per value of a binary array: the index space for pools and choices."""
        return self.digest_matrix(domain, values, 8).view("<u8").reshape(len(values))


class _Memo:
    """One domain's remembered digests, and whether remembering pays off there."""

    __slots__ = ("digests", "hits", "looked_up", "off")

    def __init__(self) -> None:
        self.digests: dict[bytes, bytes] = {}
        self.hits = self.looked_up = 0
        self.off = False

    def note(self, values: list[bytes], found: list[bytes], missing: list[int]) -> None:
        if self.digests:  # an empty memo (the first batch) says nothing about repeats
            self.looked_up += len(values)
            self.hits += len(values) - len(missing)
        if self.looked_up >= MEMO_PROBE and self.hits < MEMO_MIN_HITS * self.looked_up:
            self.off, self.digests = True, {}  # e-mails, addresses: each value comes once
            return
        room = MEMO_VALUES - len(self.digests)
        for i in missing[:max(room, 0)]:
            self.digests[values[i]] = found[i]


def _digest(state, value: bytes) -> bytes:
    state.update(value)
    return state.digest()


@lru_cache(maxsize=4096)
def _subkey(master: bytes, domain: str) -> bytes:
    return hashlib.blake2b(domain.encode(), key=master, digest_size=32, person=b"sanitizer-dom").digest()


def load_key(*, allow_demo: bool = False) -> tuple[Keyring, str]:
    """Read the key from SANITIZER_KEY or SANITIZER_KEY_FILE; return it with a word on where from."""
    secret = os.environ.get(KEY_ENV)
    origin = KEY_ENV
    key_file = os.environ.get(KEY_FILE_ENV)
    if not secret and key_file:
        path = Path(key_file)
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{KEY_FILE_ENV}={path}: cannot read the key file ({exc.strerror}); "
                "point it at a readable file holding the masking key"
            ) from None
        origin = f"{KEY_FILE_ENV} ({path})"
    if not secret:
        if allow_demo:
            return Keyring(DEMO_KEY), "the fixed demo key (not secret; never use it for real data)"
        raise ConfigError(
            f"no masking key: set {KEY_ENV} or {KEY_FILE_ENV} (a different secret per environment, "
            f"at least {MIN_KEY_LENGTH} characters)"
        )
    if len(secret) < MIN_KEY_LENGTH:
        raise ConfigError(f"{origin}: the masking key is too short; use at least {MIN_KEY_LENGTH} characters")
    return Keyring(secret), origin
