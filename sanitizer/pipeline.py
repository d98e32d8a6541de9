"""Wire the stages: snapshot -> sanitize -> validate -> load. Staging changes only when all pass."""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from . import __version__
from .errors import ValidationFailed
from .keys import Keyring
from .load.parquet import ParquetTarget
from .load.target import PostgresTarget, Target, open_target
from .parallel import Sanitizer
from .plan import TablePlan, build_plan
from .pool_start import POOL_ROWS
from .progress import LogFormat, Progress
from .rules import RuleSet
from .runtime import bound_memory
from .sanitize import decode_all
from .schema.portable import portable_tables
from .source.reader import Source
from .stream import BackgroundWriter, prefetch
from .urls import identity
from .utility import Assurance, gate_findings
from .validate.leak import Finding, LeakCheck
from .validate.patterns import PatternCheck, check_allow_columns
from .validate.report import RunReport, TableReport


@dataclass
class RunOptions:
    source: URL
    rules: RuleSet
    keyring: Keyring
    target: URL | None = None
    out: Path | None = None
    dry_run: bool = False
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)  # worker processes for big tables
    pool_rows: int = POOL_ROWS  # below this many source rows (estimated) batches are masked in this process
    progress: Callable[[str], None] | None = None
    # called inside the target's transaction just before the swap (PostgreSQL): audit record, grants
    before_commit: Callable[[sa.Connection, RunReport, dict[str, str]], None] | None = None
    min_utility: float | None = None  # below this utility score staging is not touched (findings)
    min_k: int | None = None  # nor when a table's quasi-identifiers leave a group smaller than this
    table_readers: int | None = None  # psql COPYs per big table, in block ranges (default: readers_for(jobs))


def source_sequences(source: Source) -> dict[str, tuple[int, bool]]:
    """Current sequence values of a PostgreSQL source, by bare and qualified name."""
    if source.connection.dialect.name != "postgresql":
        return {}
    rows = source.connection.execute(sa.text(
        "SELECT schemaname, sequencename, last_value, start_value FROM pg_sequences")).all()
    values = {}
    for schema, name, last, start in rows:
        value = (last, True) if last is not None else (start, False)
        values[f"{schema}.{name}"] = value
        if schema == (source.schema.default_schema if source.schema else "public"):
            values[name] = value
    return values


def run(options: RunOptions, report: RunReport) -> RunReport:
    """Run the whole refresh; raise on findings or failure, leaving staging untouched."""
    bound_memory()
    started = time.monotonic()
    report.started_at = datetime.now(UTC).isoformat(timespec="seconds")
    report.dry_run = options.dry_run
    say = options.progress or (lambda _msg: None)
    with Source(options.source) as source:
        assert source.schema is not None
        if isinstance(say, Progress):
            say.expect(source.estimated_table_rows())
        source.table_readers = options.table_readers or readers_for(options.jobs)
        plans = build_plan(source.schema, options.rules)
        check_allow_columns(options.rules, source.schema)
        leaks = LeakCheck(options.keyring)
        patterns = PatternCheck(options.rules, source.schema.default_schema)
        queries = read_queries(source, plans, options.rules)
        assurance = Assurance(plans, options.rules, source.schema.default_schema)
        target: Target = ParquetTarget(options.out, report) if options.out else open_target(options.target)
        estimate = source.estimated_rows()
        big = estimate is None or estimate >= options.pool_rows
        with target, Sanitizer(plans, options.keyring, leaks, options.jobs if big else 1) as sanitizer:
            if big and estimate is not None:
                sanitizer.warm_up()  # the workers import while the staging schema is made
            tables = [source.sa_table(p.info) for p in plans]
            if options.target is not None and options.target.get_backend_name() != source.connection.dialect.name:
                tables = portable_tables(tables, options.target.get_backend_name())
            target.create([(p.info, t) for p, t in zip(plans, tables, strict=True)])
            writer = BackgroundWriter(target.write)
            try:
                table_reports = {}
                for plan in plans:
                    table_reports[plan.info.qualified] = TableReport(
                        plan.info.qualified, skipped=plan.skip, columns={c: s.name for c, s in plan.strategies.items()})
                    report.tables.append(table_reports[plan.info.qualified])

                # PostgreSQL staging takes tables in binary COPY form where their columns allow it
                binary = {p.info.qualified: source.binary_columns(p.info, p.read_columns() | assurance.watched(p))
                          for p in plans if not p.skip} if isinstance(target, PostgresTarget) else {}

                def work(plan: TablePlan, connection: sa.Connection, stop: threading.Event) -> None:
                    _sanitize_table(plan, source, target, writer, sanitizer, patterns,
                                    table_reports[plan.info.qualified], say, queries.get(plan.info.qualified),
                                    connection=connection, stop=stop, binary_text=binary.get(plan.info.qualified),
                                    assurance=assurance)

                groups = lanes([p for p in plans if not p.skip])
                with source.snapshot_connections(min(readers_for(options.jobs), len(groups))) as readers:
                    run_lanes(groups, readers, work)
                report.uniqueness_resolved = dict(sanitizer.ledger.resolved)
                report.utility, report.risk = assurance.reports(options.min_k)
            finally:
                writer.close()
                sanitizer.close()
                assurance.close()
            structural, pattern = structure_findings(report, target), patterns.findings()
            gates = gate_findings(report.utility, report.risk, options.min_utility, options.min_k)
            if structural or pattern or gates:  # no need to finalize: report every finding and stop
                report.findings.extend(structural + leaks.findings() + pattern + gates)
                _fail_validation(report, started)
            _finalize_while_checking_leaks(target, source, leaks, report, started)
            if not options.dry_run:
                if options.before_commit is not None and isinstance(target, PostgresTarget):
                    options.before_commit(target.connection, report, target.schema_map)
                target.commit()
    report.duration_s = time.monotonic() - started
    return report


def _fail_validation(report: RunReport, started: float) -> None:
    report.duration_s = time.monotonic() - started
    raise ValidationFailed(f"validation failed with {len(report.findings)} finding(s); staging was not touched",
                           report)


def _finalize_while_checking_leaks(target: Target, source: Source, leaks: LeakCheck, report: RunReport,
                                   started: float) -> None:
    """The leak check's last step (intersecting every fingerprint: ~1 s per 3M rows) runs in a thread while
    the target builds constraints and indexes (the database's work, ~5 s there). Both come before the
    commit, so staging still changes only when the check finds nothing; a finding outranks a failed
    finalize, which it makes moot."""
    with ThreadPoolExecutor(1, thread_name_prefix="sanitizer-leaks") as pool:
        leak_findings = pool.submit(leaks.findings)
        try:
            target.finalize(source_sequences(source))
        except Exception:
            leaked = leak_findings.result()  # re-raises the leak check's own error, if it had one
            if leaked:
                report.findings.extend(leaked)
                _fail_validation(report, started)
            raise
        report.findings.extend(leak_findings.result())
    if report.findings:
        _fail_validation(report, started)


def read_queries(source: Source, plans: list[TablePlan], rules: RuleSet) -> dict[str, sa.Select]:
    """What to read where not whole tables: a `subset:` (FK-closed) and tables' `where:` conditions."""
    subset = {}
    if rules.subset is not None:
        from .synth import hints_from_source, subset_queries

        plan = rules.subset.plan(source.schema, hints_from_source(source).foreign_keys)
        subset = subset_queries(source, plan)
    queries = {}
    for plan in plans:
        name = plan.info.qualified
        if not plan.skip and (plan.where or name in subset):
            queries[name] = source.rows_query(plan.info, plan.where, subset.get(name))
    return queries


def readers_for(jobs: int) -> int:
    """Tables read side by side: one per two worker processes. A reader keeps both workers busy on the
    refresh benchmark (2 cores: the same 13 s with one or two readers), and every reader adds its own
    batches in flight (peak RSS 390 MB with one, 520 MB with two)."""
    return max(1, jobs // 2)


def lanes(plans: list[TablePlan]) -> list[list[TablePlan]]:
    """Tables that may be read side by side, in groups read one after another (plan order inside).

    Tables whose UNIQUE columns share a keyed mapping go in one group: the uniqueness ledger lets the
    first input in read order keep its output, so their batches must meet it in the same order in
    every run. Every other table is a group of its own.
    """
    groups: list[list[TablePlan]] = []
    group_of: dict[str, int] = {}  # mapping key -> index of the group that reads its tables
    for plan in plans:
        keys = {plan.strategies[name].mapping_key() for name in plan.ledgered()}
        found = sorted({group_of[k] for k in keys if k in group_of})
        index = found[0] if found else len(groups)
        if not found:
            groups.append([])
        groups[index].append(plan)
        for other in found[1:]:  # a table sharing mappings with two groups joins them
            groups[index] += groups[other]
            groups[other] = []
            group_of.update({k: index for k, g in group_of.items() if g == other})
        group_of.update(dict.fromkeys(keys, index))
    order = {id(p): i for i, p in enumerate(plans)}
    return [sorted(group, key=lambda p: order[id(p)]) for group in groups if group]


def run_lanes(groups: list[list[TablePlan]], readers: list[sa.Connection],
              work: Callable[[TablePlan, sa.Connection, threading.Event], None]) -> None:
    """Each reader (a connection in the source's snapshot) takes the next group until none is left;
    one reader means plan order in this thread. The first error stops the others between batches."""
    stop = threading.Event()
    if len(readers) == 1:
        for group in groups:
            for plan in group:
                work(plan, readers[0], stop)
        return
    pending: queue.SimpleQueue[list[TablePlan]] = queue.SimpleQueue()
    for group in groups:
        pending.put(group)
    errors: list[BaseException] = []

    def take(connection: sa.Connection) -> None:
        try:
            while not stop.is_set():
                try:
                    group = pending.get_nowait()
                except queue.Empty:
                    return
                for plan in group:
                    work(plan, connection, stop)
        except _Stopped:
            return
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=take, args=(c,), name=f"sanitizer-lane-{i}", daemon=True)
               for i, c in enumerate(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class _Stopped(Exception):
    """Another lane failed: this one stops between batches."""


def _sanitize_table(plan: TablePlan, source: Source, target: Target, writer: BackgroundWriter, sanitizer: Sanitizer,
                    patterns: PatternCheck, table_report: TableReport, say: Callable[[str], None],
                    query: sa.Select | None = None, connection: sa.Connection | None = None,
                    stop: threading.Event | None = None, binary_text: set[str] | None = None,
                    assurance: Assurance | None = None) -> None:
    """Stream one table: read ahead in one thread, sanitize (here or in workers), write behind in another."""
    t0 = time.monotonic()
    batches = source.batches(plan.info, query, connection, binary_text=binary_text)
    if assurance is not None:  # production's side of the utility report, summarised in the read-ahead thread
        batches = assurance.source_batches(plan.info.qualified, batches)
    live = say if isinstance(say, Progress) else None
    for out in sanitizer.map(plan, prefetch(batches, depth=1), wire=source.wire):
        if stop is not None and stop.is_set():
            raise _Stopped()
        patterns.observe_batch(plan.info, plan.strategies, out)
        if source.wire and not target.wants_wire:
            out = decode_all(plan.info, out)
        if assurance is not None:
            assurance.observe_output(plan.info.qualified, out)
        writer.put(plan.info, out)
        table_report.rows_read += out.num_rows
        if live is not None:
            live.advance(plan.info.qualified, table_report.rows_read, time.monotonic() - t0)
    if live is not None:
        live.done(plan.info.qualified, table_report.rows_read, time.monotonic() - t0)
    else:
        rate = table_report.rows_read / max(time.monotonic() - t0, 1e-6)
        say(f"{plan.info.qualified}: {table_report.rows_read:,} rows ({rate:,.0f} rows/s)")


def structure_findings(report: RunReport, target: Target) -> list[Finding]:
    """Every row read was written."""
    found = []
    for table_report in report.tables:
        table_report.rows_written = target.rows_written.get(table_report.name, 0)
        if table_report.rows_written != table_report.rows_read:
            found.append(Finding("row_count", table_report.name, table_report.rows_read - table_report.rows_written,
                                 detail="rows read but not written"))
    return found


def new_report(options: RunOptions, target_identity: dict[str, object]) -> RunReport:
    return RunReport(
        source=identity(options.source), target=target_identity,
        rules_files=[str(p) for p in options.rules.files], rules_digest=options.rules.digest,
        key_fingerprint=options.keyring.fingerprint, tool_version=__version__,
    )


def stderr_progress(log_format: LogFormat = "text") -> Callable[[str], None] | None:
    """Progress for `load` and `validate`: lines on stderr, only when a person is watching it (or JSON)."""
    if log_format == "json":
        return Progress("json")
    if not sys.stderr.isatty():
        return None
    return lambda msg: print(msg, file=sys.stderr, flush=True)
