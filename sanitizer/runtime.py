"""Process-wide memory settings, so a refresh's resident memory stays near what it really holds.

Measured on the refresh benchmark (1M users + 2M orders), peak RSS of the main process: 656 MB with
the defaults, ~410 MB with these settings (together with bounded batches in flight), same wall time.
Arrow's default allocator (mimalloc) kept freed batch memory; glibc gave each thread (reader, writer,
pool manager) its own arena that it never shrank, and raised its mmap threshold to the largest block
ever freed, so fingerprint arrays of several MiB stayed in the heap after being freed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

import pyarrow as pa

M_ARENA_MAX = -8  # mallopt parameters (glibc malloc.h)
M_MMAP_THRESHOLD = -3
ARENAS = 2
MMAP_THRESHOLD = 1 << 20  # fixed: glibc otherwise raises it to the largest block freed (up to 32 MiB)


def bound_memory() -> None:
    """Use jemalloc for Arrow buffers where this pyarrow has it, and few glibc arenas; best effort."""
    with contextlib.suppress(NotImplementedError, AttributeError, pa.ArrowException):
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)  # hand freed pages back at once: batches come and go quickly
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(name)
            libc.mallopt(M_ARENA_MAX, ARENAS)
            # fingerprint arrays and per-batch buffers of a MiB and more are mapped on their own and
            # unmapped when freed, instead of lingering in the heap after glibc raised the threshold
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
