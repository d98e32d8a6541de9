"""Name pools shared by person, email, username and scrub: fixed per locale, drawn by seeded Faker."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .fake import fake_pool

POOL_DRAWS = 4096


@lru_cache(maxsize=64)
def names(kind: str, locale: str) -> pa.Array:
    """Distinct values of a Faker kind (first_name, last_name, ...) in a fixed order."""
    pool = pc.unique(fake_pool(kind, locale, POOL_DRAWS))
    return pool.filter(pc.greater(pc.utf8_length(pool), 0))


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


@lru_cache(maxsize=64)
def ascii_names(kind: str, locale: str) -> pa.Array:
    """The same pool, index for index, folded to lower-case ASCII (e-mail local parts, usernames).

    Aligned with names() so a person's e-mail matches their name; an entry that folds to nothing
    (e.g. ja_JP kana) takes the en_US entry at the same index instead.
    """
    folded = [_ascii(v) for v in names(kind, locale).to_pylist()]
    if not all(folded):
        fallback = ascii_names(kind, "en_US").to_pylist() if locale != "en_US" else ["x"]
        folded = [f or fallback[i % len(fallback)] for i, f in enumerate(folded)]
    return pa.array(folded, pa.string())


def take(pool: pa.Array, hashes: np.ndarray, shift: int = 0) -> pa.Array:
    """Pool entries picked by bits of keyed hashes starting at `shift`."""
    bits = hashes >> np.uint64(shift) if shift else hashes
    return pool.take(pa.array((bits % np.uint64(len(pool))).astype(np.int64)))


def local_parts(hashes: np.ndarray, locale: str) -> pa.Array:
    """first.last e-mail local parts (first from the low bits, last from bits 16 up)."""
    first = take(ascii_names("first_name", locale), hashes)
    last = take(ascii_names("last_name", locale), hashes, 16)
    return pc.binary_join_element_wise(first, last, ".")
