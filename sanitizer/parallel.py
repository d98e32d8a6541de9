"""--jobs N: sanitize batches in N worker processes.

Strategies are pure functions of (key, batch) and the leak check reduces each batch to fingerprints,
so a worker needs only the plan and the key; the parent reads, writes, and adds up what workers saw.
The pool starts only once a table proves big (a second batch): small databases pay no start-up.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

import pyarrow as pa

from .keys import Keyring
from .plan import TablePlan
from .runtime import bound_memory
from .uniqueness import UniqueLedger
from .validate.leak import LeakCheck, Observation

_worker: dict[str, object] = {}


class _Collector:
    """Stands in for the leak check inside a worker: keeps observations to send back."""

    def __init__(self, check: LeakCheck) -> None:
        self.check, self.seen = check, []

    def observe(self, column, original, output, transformed, check_unique=True) -> None:
        self.seen.append(self.check.look(column, original, output, transformed, check_unique))

    def unique_fingerprints(self, column, output):
        return self.check.unique_fingerprints(column, output)


def _start(plans: dict[str, TablePlan], keyring: Keyring, parent: int) -> None:
    bound_memory()
    _worker.update(plans=plans, keyring=keyring, check=LeakCheck(keyring))
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _ready() -> None:
    """A no-op task: makes the pool start its processes (it does so on demand)."""


def _exit_with_parent(parent: int) -> None:
    """A killed run must not leave workers behind (holding its output pipes open)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(3)


def _sanitize(table: str, batch: pa.RecordBatch, wire: bool) -> tuple[pa.RecordBatch, list[Observation], dict]:
    from .pipeline import sanitize_batch

    collector = _Collector(_worker["check"])
    prepared: dict = {}  # the uniqueness ledger's fingerprints, computed here rather than in the parent
    out = sanitize_batch(_worker["plans"][table], batch, _worker["keyring"], collector, wire=wire, prepared=prepared)
    return out, collector.seen, prepared


class Sanitizer:
    """Turns a table's batches into sanitized batches, in order, in this process or in a pool."""

    def __init__(self, plans: list[TablePlan], keyring: Keyring, leaks: LeakCheck, jobs: int) -> None:
        self.plans = {p.info.qualified: p for p in plans if not p.skip}
        self.keyring, self.leaks, self.jobs = keyring, leaks, jobs
        self.ledger = UniqueLedger(keyring)
        self._lock = threading.Lock()  # tables may be mapped from several threads (pipeline.run_lanes)
        # batches in the pool at once, over all tables: bounds memory whatever the number of lanes
        self._slots = threading.Semaphore(jobs + 1)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Sanitizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (they hold memory); safe to call twice."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, plan: TablePlan, batches: Iterator[pa.RecordBatch], wire: bool) -> Iterator[pa.RecordBatch]:
        from .pipeline import sanitize_batch, settle_unique

        ledgered = plan.ledgered()

        def settled(batch: pa.RecordBatch, done: tuple[pa.RecordBatch, dict]) -> pa.RecordBatch:
            """Here, in batch order: the ledger is one per run, so collisions resolve the same every time."""
            out, prepared = done
            if not ledgered:
                return out
            with self._lock:
                return settle_unique(plan, ledgered, batch, out, self.keyring, self.ledger, self.leaks, wire,
                                     prepared)

        pending: deque[tuple[pa.RecordBatch, Future, bool]] = deque()  # (input, result, holds a slot)

        def oldest() -> pa.RecordBatch:
            batch, future, slot = pending.popleft()
            try:
                return settled(batch, self._collect(future))
            finally:
                if slot:
                    self._slots.release()

        try:
            for number, batch in enumerate(batches):
                if self.jobs <= 1 or (number == 0 and self._pool is None):
                    prepared: dict = {}
                    first = sanitize_batch(plan, batch, self.keyring, self.leaks, wire=wire, prepared=prepared)
                    if self.jobs <= 1:
                        yield settled(batch, (first, prepared))
                        continue
                    pending.append((batch, _done((first, [], prepared)), False))  # observations already added
                    continue
                pool = self._ensure_pool()
                while not self._slots.acquire(blocking=not pending):  # all tables share jobs + 1 slots
                    yield oldest()
                pending.append((batch, pool.submit(_sanitize, plan.info.qualified, batch, wire), True))
            while pending:
                yield oldest()
        finally:  # closed early (an error here or in another lane): give the slots back
            for _, future, slot in pending:
                future.cancel()
                if slot:
                    self._slots.release()

    def _collect(self, future: Future) -> tuple[pa.RecordBatch, dict]:
        out, seen, prepared = future.result()
        for observation in seen:
            self.leaks.add(observation)
        return out, prepared

    def warm_up(self) -> None:
        """Start the workers now, while the parent creates the staging schema: a worker's imports take
        about a second, which a big run otherwise pays when its first table turns out big."""
        if self.jobs > 1:
            pool = self._ensure_pool()
            for _ in range(self.jobs):
                pool.submit(_ready)

    def _ensure_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            return self._start_pool()

    def _start_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start, initargs=(self.plans, self.keyring, os.getpid()))
        return self._pool


def _done(value: object) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future
