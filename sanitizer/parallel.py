"""--jobs N: sanitize batches in N worker processes.

Strategies are pure functions of (key, batch) and the leak check reduces each batch to fingerprints,
so a worker needs only the plan and the key; the parent reads, writes, and adds up what workers saw.
The pool starts only once a table proves big (a second batch): small databases pay no start-up.

On Linux batches travel through anonymous shared memory (memfd) rather than the pool's pipe: one copy
each way instead of pickling into a pipe 64 KiB at a time (half the CPU of the hand-over on the
refresh benchmark). The memory has no name, so a killed run leaves nothing behind. Workers fork from a
fork server that imported their code once (`pool_start.WORKER_PRELOAD`), so N workers cost one import, not N.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

import pyarrow as pa
import pyarrow.ipc as ipc

from .keys import Keyring
from .plan import TablePlan
from .pool_start import worker_context
from .runtime import bound_memory
from .sanitize import sanitize_batch, settle_unique
from .uniqueness import UniqueLedger
from .validate.leak import LeakCheck, Observation, OutputSpill

_worker: dict[str, object] = {}


class _Collector:
    """Stands in for the leak check inside a worker: keeps observations to send back, with the output
    fingerprints (the bulk: every word run of every text cell) written to the run's spill directory."""

    def __init__(self, check: LeakCheck, spill: OutputSpill | None = None) -> None:
        self.check, self.spill, self.seen = check, spill, []

    def observe(self, column, original, output, transformed, check_unique=True, may_keep=False) -> None:
        seen = self.check.look(column, original, output, transformed, check_unique, may_keep)
        if seen.output is not None and self.spill is not None:
            self.spill.add(seen.column, seen.output)
            seen.output, seen.spilled = None, True
        self.seen.append(seen)

    def unique_fingerprints(self, column, output):
        return self.check.unique_fingerprints(column, output)


def _start(plans: dict[str, TablePlan], keyring: Keyring, spill: str | None = None) -> None:
    bound_memory()
    _worker.update(plans=plans, keyring=keyring, check=LeakCheck(keyring),
                   spill=OutputSpill(spill) if spill is not None else None)
    threading.Thread(target=_exit_with_parent, daemon=True).start()


def _ready() -> None:
    """A no-op task: makes the pool start its processes (it does so on demand)."""


def _exit_with_parent() -> None:
    """A killed run must not leave workers behind (holding its output pipes open): the parent's sentinel
    (a pipe only the parent holds open, with spawn and forkserver alike) reads as ready once it is gone."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
    os._exit(3)


def _sanitize(table: str, batch: pa.RecordBatch, wire: bool) -> tuple[pa.RecordBatch, list[Observation], dict]:
    collector = _Collector(_worker["check"], _worker.get("spill"))
    prepared: dict = {}  # the uniqueness ledger's fingerprints, computed here rather than in the parent
    out = sanitize_batch(_worker["plans"][table], batch, _worker["keyring"], collector, wire=wire, prepared=prepared)
    return out, collector.seen, prepared


def _sanitize_shared(table: str, parent: int, sent: int, used: int, back: int, wire: bool
                     ) -> tuple[int, list[Observation], dict]:
    """_sanitize with the batch read from, and its output written to, the parent's memfds."""
    out, seen, prepared = _sanitize(table, _read_batch(f"/proc/{parent}/fd/{sent}", used), wire)
    fd = os.open(f"/proc/{parent}/fd/{back}", os.O_RDWR)
    try:
        return _write_batch(fd, out), seen, prepared
    finally:
        os.close(fd)


def _probe(parent: int, sent: int, used: int) -> int:
    """Whether this worker can open its parent's memfds (no /proc, or a hardened one, says no)."""
    return _read_batch(f"/proc/{parent}/fd/{sent}", used).num_rows


def _write_batch(fd: int, batch: pa.RecordBatch) -> int:
    """Serialize a batch into a memfd (sized to fit); returns the bytes written."""
    size = ipc.get_record_batch_size(batch) + batch.schema.serialize().size + 64
    os.ftruncate(fd, size)
    region = mmap.mmap(fd, size)
    sink = pa.FixedSizeBufferWriter(pa.py_buffer(region))
    writer = ipc.new_stream(sink, batch.schema)
    writer.write_batch(batch)
    writer.close()
    used = sink.tell()
    sink.close()
    del writer, sink  # they hold the view of the region, which may then close
    region.close()
    return used


def _read_batch(path: str, used: int) -> pa.RecordBatch:
    """The batch in a memfd, without copying: its buffers keep the mapping alive."""
    fd = os.open(path, os.O_RDONLY)
    try:
        region = mmap.mmap(fd, used, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    return ipc.open_stream(pa.py_buffer(region)).read_next_batch()


class _Handoff:
    """One batch's round trip: two memfds this process owns, which the worker opens by /proc path."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self.sent = os.memfd_create("sanitizer-batch", os.MFD_CLOEXEC)
        self.back = os.memfd_create("sanitizer-batch", os.MFD_CLOEXEC)
        try:
            self.used = _write_batch(self.sent, batch)
        except BaseException:
            self.close()
            raise

    def receive(self, used: int) -> pa.RecordBatch:
        try:
            return _read_batch(f"/proc/self/fd/{self.back}", used)
        finally:
            self.close()

    def close(self) -> None:
        for fd in (self.sent, self.back):
            if fd >= 0:
                os.close(fd)
        self.sent = self.back = -1


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
        self._shared: Future | None = None  # resolves to whether workers can use _Handoff
        self._orphans: list[_Handoff] = []
        self._warming: threading.Thread | None = None

    def __enter__(self) -> Sanitizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (they hold memory); safe to call twice."""
        if self._warming is not None:
            self._warming.join()
            self._warming = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for handoff in self._orphans:
            handoff.close()
        self._orphans.clear()

    def map(self, plan: TablePlan, batches: Iterator[pa.RecordBatch], wire: bool) -> Iterator[pa.RecordBatch]:
        ledgered = plan.ledgered()

        def settled(batch: pa.RecordBatch, done: tuple[pa.RecordBatch, dict]) -> pa.RecordBatch:
            """Here, in batch order: the ledger is one per run, so collisions resolve the same every time."""
            out, prepared = done
            if not ledgered:
                return out
            with self._lock:
                return settle_unique(plan, ledgered, batch, out, self.keyring, self.ledger, self.leaks, wire,
                                     prepared)

        # (input, result, holds a slot, its shared memory if it went that way)
        pending: deque[tuple[pa.RecordBatch, Future, bool, _Handoff | None]] = deque()

        def oldest() -> pa.RecordBatch:
            batch, future, slot, handoff = pending.popleft()
            try:
                return settled(batch, self._collect(future, handoff))
            finally:
                if handoff is not None:
                    handoff.close()
                if slot:
                    self._slots.release()

        try:
            for number, batch in enumerate(batches):
                if self.jobs <= 1 or (number == 0 and self._pool is None) or self._starting():
                    prepared: dict = {}
                    first = sanitize_batch(plan, batch, self.keyring, self.leaks, wire=wire, prepared=prepared)
                    if self.jobs <= 1:
                        yield settled(batch, (first, prepared))
                        continue
                    pending.append((batch, _done((first, [], prepared)), False, None))  # observations added
                    while pending and pending[0][1].done():  # in order, without waiting for a worker
                        yield oldest()
                    continue
                pool = self._ensure_pool()
                while not self._slots.acquire(blocking=not pending):  # all tables share jobs + 1 slots
                    yield oldest()
                future, handoff = self._submit(pool, plan.info.qualified, batch, wire)
                pending.append((batch, future, True, handoff))
            while pending:
                yield oldest()
        finally:  # closed early (an error here or in another lane): give the slots and memory back
            for _, future, slot, handoff in pending:
                future.cancel()
                if slot:
                    self._slots.release()
                if handoff is None:
                    continue
                if future.cancelled() or future.done():
                    handoff.close()
                else:  # a running task may still open its memfds: closed once the pool has stopped
                    self._orphans.append(handoff)

    def _submit(self, pool: ProcessPoolExecutor, table: str, batch: pa.RecordBatch, wire: bool
                ) -> tuple[Future, _Handoff | None]:
        """Through shared memory once a worker has shown it can open it; by the pool's pipe until then."""
        if self._shared is not None and self._shared.done() and self._shared.result():
            handoff = _Handoff(batch)
            return pool.submit(_sanitize_shared, table, os.getpid(), handoff.sent, handoff.used, handoff.back,
                               wire), handoff
        return pool.submit(_sanitize, table, batch, wire), None

    def _collect(self, future: Future, handoff: _Handoff | None) -> tuple[pa.RecordBatch, dict]:
        out, seen, prepared = future.result()
        if handoff is not None:
            out = handoff.receive(out)
        for observation in seen:
            self.leaks.add(observation)
        return out, prepared

    def warm_up(self) -> None:
        """Start the workers now, in the background, while this thread creates the staging schema and
        reads the first batch: the fork server imports the workers' code first (~0.5 s on 2 cores), and
        starting a worker waits for it. An error here shows again when map() starts the pool itself."""
        if self.jobs > 1 and self._warming is None:
            self._warming = threading.Thread(target=self._start_workers, name="sanitizer-pool-start", daemon=True)
            self._warming.start()

    def _start_workers(self) -> None:
        with contextlib.suppress(Exception):
            pool = self._ensure_pool()
            for _ in range(self.jobs):
                pool.submit(_ready)

    def _starting(self) -> bool:
        """warm_up's thread is still starting the pool: batches are masked here meanwhile, in order."""
        return self._warming is not None and self._warming.is_alive()

    def _ensure_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            return self._start_pool()

    def _start_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=worker_context(),
                                             initializer=_start,
                                             initargs=(self.plans, self.keyring, self.leaks.spill_directory()))
            self._shared = self._probe_shared_memory(self._pool)
        return self._pool

    @staticmethod
    def _probe_shared_memory(pool: ProcessPoolExecutor) -> Future:
        """Ask a worker to read a batch through a memfd; until it answers, batches go by pipe."""
        if not sys.platform.startswith("linux") or not hasattr(os, "memfd_create"):
            return _done(False)
        handoff = _Handoff(pa.record_batch({"probe": pa.array([1])}))
        probe = pool.submit(_probe, os.getpid(), handoff.sent, handoff.used)
        answer: Future = Future()

        def settle(done: Future) -> None:
            handoff.close()
            answer.set_result(done.exception() is None and done.result() == 1)

        probe.add_done_callback(settle)
        return answer


def _done(value: object) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future
