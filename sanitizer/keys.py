"""The masking key: where it comes from, and the keyed pseudo-random function built on it.

Every keyed output of sanitizer derives from one secret through HMAC-SHA256 (to get a master key of
fixed size) and keyed BLAKE2b (per domain), so a dictionary attack without the key learns nothing,
and the same (key, domain, value) gives the same digest in every table, batch, run and process.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ConfigError

KEY_ENV = "SANITIZER_KEY"
KEY_FILE_ENV = "SANITIZER_KEY_FILE"
DEMO_KEY = "sanitizer-demo-key-not-secret"
MIN_KEY_LENGTH = 16


class Keyring:
    """Holds the master key and derives one sub-key per domain; never prints the key."""

    __slots__ = ("_master",)

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        self._master = hmac.new(raw, b"sanitizer/master/v1", hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"Keyring(fingerprint={self.fingerprint})"

    @property
    def fingerprint(self) -> str:
        """A short public identifier of the key, safe to record in reports and audit logs."""
        return hashlib.blake2b(b"fingerprint", key=self._master, digest_size=8).hexdigest()

    def subkey(self, domain: str) -> bytes:
        return _subkey(self._master, domain)

    def digests(self, domain: str, values: Iterable[bytes], size: int = 16) -> list[bytes]:
        """Keyed BLAKE2b of each value under the domain's sub-key."""
        # the keyed state after the key block, copied per value: the same digests as
        # blake2b(v, key=key), without compressing the key block again for every value
        keyed = hashlib.blake2b(key=self.subkey(domain), digest_size=size)
        return [_digest(keyed.copy(), v) for v in values]

    def uint64(self, domain: str, values: Iterable[bytes]) -> np.ndarray:
        """Keyed 64-bit integers, one per value: the index space for pools and choices."""
        digests = self.digests(domain, values, size=8)
        return np.frombuffer(b"".join(digests), dtype="<u8").copy() if digests else np.empty(0, "<u8")


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
