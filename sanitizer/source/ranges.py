"""One big PostgreSQL table read by several readers at once, in ctid (block) ranges of one snapshot.

A table larger than RANGE_PAGES blocks is always read as consecutive block ranges (PostgreSQL 14+ scans a
`ctid >= '(a,0)' AND ctid < '(b,0)'` condition as a TID range scan, touching only those blocks). Each range
is a COPY of its own, in the run's exported snapshot, so every reader sees the same rows. Batches are
handed on in range order whatever the number of readers: one reader or eight give the same rows in
the same batches, so staging is byte-identical (shuffle, which works per batch, included).

Readers run ahead by at most `readers - 1` ranges, each holding at most QUEUED batches: memory stays
bounded by readers x QUEUED x the batch size.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator

import pyarrow as pa

RANGE_PAGES_ENV = "SANITIZER_RANGE_PAGES"
RANGE_PAGES = 16_384  # 128 MiB of 8 KiB blocks: a table of two ranges or more is read in ranges
QUEUED = 2
_DONE = object()


def range_pages() -> int:
    """Blocks per range: RANGE_PAGES, or $SANITIZER_RANGE_PAGES (tuning, and tests on small tables)."""
    value = os.environ.get(RANGE_PAGES_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else RANGE_PAGES


def ctid_ranges(pages: int, per_range: int) -> list[str]:
    """WHERE clauses covering every block: none for a table of one range; the last range is open-ended,
    so a block the size estimate missed is still read."""
    if pages <= per_range:
        return []
    starts = list(range(0, pages, per_range))
    clauses = []
    for index, start in enumerate(starts):
        low = f"ctid >= '({start},0)'::tid"
        if index + 1 < len(starts):
            clauses.append(f" WHERE {low} AND ctid < '({starts[index + 1]},0)'::tid")
        else:
            clauses.append(f" WHERE {low}")
    return clauses


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def in_order(ranges: list[str], read: Callable[[str], Iterator[pa.RecordBatch]],
             readers: int) -> Iterator[pa.RecordBatch]:
    """Every range's batches, range after range, with up to `readers` ranges being read at once."""
    if readers <= 1:
        for where in ranges:
            yield from read(where)
        return
    stop = threading.Event()
    queues: dict[int, queue.Queue] = {}
    threads: list[threading.Thread] = []

    def fill(index: int, out: queue.Queue) -> None:
        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            with contextlib.closing(read(ranges[index])) as batches:  # closing stops its COPY early
                for batch in batches:
                    if not put(batch):
                        return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            put(_Failed(exc))

    def start(index: int) -> None:
        if index < len(ranges):
            queues[index] = queue.Queue(QUEUED)
            thread = threading.Thread(target=fill, args=(index, queues[index]), daemon=True,
                                      name=f"sanitizer-range-{index}")
            threads.append(thread)
            thread.start()

    try:
        for index in range(min(readers, len(ranges))):
            start(index)
        for index in range(len(ranges)):
            source = queues.pop(index)
            while (item := source.get()) is not _DONE:
                if isinstance(item, _Failed):
                    raise item.error
                yield item
            start(index + readers)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
