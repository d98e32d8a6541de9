"""Overlap the stages: read the next batch and write the last one while this one is sanitized.

Each database connection is used by one thread only; queues are short, so memory stays bounded by a
few batches whatever the table size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

_DONE = object()


def prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Iterate `items` in a background thread, `depth` items ahead; errors re-raise here."""
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        """Put unless the consumer stopped: a blocking put into a full queue nobody reads would hang
        the consumer's join below (a run failing near the end of a table would never exit)."""
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(_Failure(exc))

    thread = threading.Thread(target=produce, name="sanitizer-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


class BackgroundWriter:
    """Runs write(item) calls in one background thread, in order; put() blocks when `depth` wait."""

    def __init__(self, write: Callable[..., None], depth: int = 2) -> None:
        self._write = write
        self._box: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sanitizer-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._box.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._write(*item)
                except BaseException as exc:  # raised in the caller's thread at the next put/close
                    self._error = exc

    def put(self, *args: Any) -> None:
        if self._error is not None:
            raise self._error
        self._box.put(args)

    def close(self) -> None:
        """Wait for every pending write; re-raise the first error."""
        self._box.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
