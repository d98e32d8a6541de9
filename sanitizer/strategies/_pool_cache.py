"""A disk cache of Faker value pools, keyed by what determines them: kind, locale, size, Faker's version.

Only Faker's own made-up values (and its public word lists) are stored, never data. Location:
$SANITIZER_CACHE_DIR, else $XDG_CACHE_HOME/sanitizer, else ~/.cache/sanitizer. Any problem (read-only
home, a damaged file) just means the pool is drawn again; a file is published by rename, so concurrent
processes never read half.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import pyarrow as pa
from faker import VERSION as FAKER_VERSION

FORMAT = "pool-v1"


def cache_dir() -> Path:
    explicit = os.environ.get("SANITIZER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sanitizer"


def _path(kind: str, locale: str, size: int) -> Path:
    digest = hashlib.sha256(f"{FORMAT}|{FAKER_VERSION}|{kind}|{locale}|{size}".encode()).hexdigest()[:24]
    return cache_dir() / f"{FORMAT}-{digest}.arrow"


def load(kind: str, locale: str, size: int) -> pa.Array | None:
    """The cached pool, or None. size 0: a list of whatever length it has (e.g. the leak check's
    public dictionary)."""
    path = _path(kind, locale, size)
    try:
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
        pool = table.column(0).combine_chunks()
    except (OSError, pa.ArrowException, IndexError):
        return None
    return pool if size in (0, len(pool)) else None


def store(kind: str, locale: str, size: int, pool: pa.Array) -> None:
    path = _path(kind, locale, size)
    with contextlib.suppress(OSError, pa.ArrowException):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pool-")
        try:
            with os.fdopen(handle, "wb") as sink, pa.ipc.new_file(sink, pa.schema([("pool", pool.type)])) as writer:
                writer.write_table(pa.table({"pool": pool}))
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
