"""--jobs: batches sanitized in worker processes give exactly what one process gives."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from sanitizer import parallel
from sanitizer.errors import LoadError, ValidationFailed
from sanitizer.keys import Keyring
from sanitizer.load.target import PostgresTarget
from sanitizer.pipeline import RunOptions, new_report, run
from sanitizer.rules import RuleSet, load_rules
from sanitizer.source import pg_copy
from sanitizer.urls import parse

REPO = Path(__file__).resolve().parents[2]
CHINOOK_RULES = REPO / "rules" / "chinook.yaml"


def chinook_rules(path: Path, old: str, new: str) -> Path:
    """rules/chinook.yaml with one rule changed, written to `path`."""
    text = CHINOOK_RULES.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def options_for(source: str, target: str, rules: Path | RuleSet = CHINOOK_RULES, jobs: int = 2) -> RunOptions:
    """A run with the pool from the first big batch on (pool_rows=0), so sample data reaches workers."""
    return RunOptions(source=parse(source, what="source"), target=parse(target, what="target"),
                      rules=rules if isinstance(rules, RuleSet) else load_rules([rules]),
                      keyring=Keyring("parallel-key-0123456"), jobs=jobs, pool_rows=0)


def break_finalize(monkeypatch) -> None:
    """A database error while staging's constraints and indexes are built (the target stays real)."""
    def broken(self, sequences):
        raise LoadError("adding constraints, indexes and triggers failed: injected")

    monkeypatch.setattr(PostgresTarget, "finalize", broken)


def dump(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = [r[0] for r in conn.exec_driver_sql("select tablename from pg_tables where schemaname='public'")]
        out = {t: sorted(map(tuple, conn.exec_driver_sql(f'select * from "{t}"')), key=repr) for t in tables}
    engine.dispose()
    return out


def tables_of(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("select tablename from pg_tables where schemaname='public'")]
    engine.dispose()
    return names


def batch_memfds() -> int:
    """memfds of batch hand-overs this process still holds open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += "sanitizer-batch" in os.readlink(f"/proc/self/fd/{fd}")
    return count


def test_workers_reproduce_the_single_process_output(pg_fixture, pg_server, monkeypatch) -> None:
    """One process, workers fed through shared memory, and workers fed through the pool's pipe."""
    monkeypatch.setattr(pg_copy, "BLOCK_BYTES", 16 << 10)  # many small batches, so the pool really runs
    source = pg_fixture("chinook")
    rules = load_rules([CHINOOK_RULES])
    handoffs = []
    monkeypatch.setattr(parallel._Handoff, "receive", lambda self, used, real=parallel._Handoff.receive:
                        handoffs.append(used) or real(self, used))
    outputs, reports = [], []
    for jobs, shared in ((1, False), (2, True), (2, False)):
        if jobs > 1 and not shared:
            monkeypatch.setattr(parallel.Sanitizer, "_probe_shared_memory", staticmethod(
                lambda pool: parallel._done(False)))
        handoffs.clear()
        target = pg_server.new_database("par")
        options = options_for(source, target, rules, jobs=jobs)
        report = run(options, new_report(options, {}))
        outputs.append(dump(target))
        reports.append({t.name: (t.rows_read, t.rows_written) for t in report.tables})
        pg_server.drop_database(target)
        if shared and sys.platform.startswith("linux"):
            assert len(handoffs) > 10  # the batches after the workers answered the probe
        else:  # one process, or a worker that cannot open the parent's memfds: the pool's pipe
            assert handoffs == []
        if sys.platform.startswith("linux"):
            assert batch_memfds() == 0
    assert reports[0] == reports[1] == reports[2]
    assert max(rows for rows, _ in reports[0].values()) > 8000
    assert outputs[0] == outputs[1] == outputs[2]


POOL_THEN_WAIT = """
import sys, time
from sanitizer.keys import Keyring
from sanitizer.parallel import Sanitizer
from sanitizer.validate.leak import LeakCheck
if __name__ == "__main__":
    keyring = Keyring("parallel-key-0123456")
    sanitizer = Sanitizer([], keyring, LeakCheck(keyring), 2)
    sanitizer.warm_up()
    sanitizer._warming.join()  # the pool starts in the background
    sanitizer._shared.result()  # a worker answered: the pool is up
    print(*sanitizer._pool._processes, flush=True)
    time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_the_run_is_killed(tmp_path: Path) -> None:
    """kill -9 of the run (the OOM killer) must not leave its workers holding memory and pipes."""
    import signal
    import subprocess
    import time

    script = tmp_path / "pool.py"
    script.write_text(POOL_THEN_WAIT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=REPO,
                            start_new_session=True)
    try:
        workers = [int(pid) for pid in proc.stdout.readline().split()]
        assert len(workers) == 2 and all(os.path.exists(f"/proc/{pid}") for pid in workers)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in workers):
            time.sleep(0.1)
        assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def fail_in_a_worker(values: pa.Array) -> pa.Array:
    """A custom strategy that breaks only in worker processes, once batches are handed over."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        raise RuntimeError("strategy failed in a worker")
    return values


def test_a_worker_failing_leaves_no_batch_memory_open(pg_fixture, pg_server, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pg_copy, "BLOCK_BYTES", 8 << 10)
    source = pg_fixture("chinook")
    rules = chinook_rules(tmp_path / "failing.yaml", "composer: keep,",
                          "composer: {strategy: custom, function: 'test_parallel:fail_in_a_worker'},")
    target = pg_server.new_database("par")
    options = options_for(source, target, rules)
    with pytest.raises(RuntimeError, match="strategy failed in a worker"):
        run(options, new_report(options, {}))
    pg_server.drop_database(target)
    if sys.platform.startswith("linux"):
        assert batch_memfds() == 0


LEAK = ("original_value_in_output", "public.invoice.billing_address", "public.customer.address")


@pytest.mark.parametrize("finalize_fails", [False, True], ids=["finalize-ok", "finalize-fails"])
def test_a_leak_is_found_when_workers_do_the_work(pg_fixture, pg_server, monkeypatch, tmp_path: Path,
                                                  finalize_fails: bool) -> None:
    """The leak check's last step runs while staging's indexes are built; a leak fails the run either way,
    and outranks the database error of a finalize that failed meanwhile."""
    monkeypatch.setattr(pg_copy, "BLOCK_BYTES", 16 << 10)
    if finalize_fails:
        break_finalize(monkeypatch)
    source = pg_fixture("chinook")
    leaky = chinook_rules(tmp_path / "leaky.yaml", "billing_address: {strategy: fake, kind: street_address}",
                          "billing_address: keep")
    target = pg_server.new_database("par")
    options = options_for(source, target, leaky)
    report = new_report(options, {})
    with pytest.raises(ValidationFailed):
        run(options, report)
    assert LEAK in {(f.kind, f.column, f.source) for f in report.findings}
    assert tables_of(target) == []  # staging as it was: empty
    pg_server.drop_database(target)
    # the workers' output fingerprints (spilled by the workers themselves) count like this process's own
    alone = options_for(source, pg_server.new_database("par"), leaky, jobs=1)
    alone_report = new_report(alone, {})
    with pytest.raises(ValidationFailed):
        run(alone, alone_report)
    assert sorted(f.as_dict().items() for f in report.findings) == \
        sorted(f.as_dict().items() for f in alone_report.findings)


def test_a_failed_finalize_without_findings_is_the_load_error(pg_fixture, pg_server, monkeypatch) -> None:
    break_finalize(monkeypatch)
    source = pg_fixture("chinook")
    target = pg_server.new_database("par")
    options = options_for(source, target, jobs=1)
    report = new_report(options, {})
    with pytest.raises(LoadError, match="injected"):
        run(options, report)
    assert report.findings == []
    assert tables_of(target) == []
    pg_server.drop_database(target)


def test_tables_read_side_by_side_share_one_snapshot(pg_fixture, pg_server, monkeypatch) -> None:
    """Rows committed after the run's snapshot but before the second reader starts stay invisible to it."""
    from sanitizer.source.reader import Source

    source = pg_fixture("chinook")
    original = Source.snapshot_connections
    readers_seen: list[int] = []

    def commit_then_share(self, count):
        engine = sa.create_engine(source)
        with engine.begin() as conn:  # another session writes prod after the snapshot was exported
            conn.exec_driver_sql("INSERT INTO genre (genre_id, name) VALUES (9001, 'late genre')")
            conn.exec_driver_sql("INSERT INTO media_type (media_type_id, name) VALUES (9001, 'late type')")
            conn.exec_driver_sql("INSERT INTO artist (artist_id, name) VALUES (9001, 'late artist')")
        engine.dispose()
        manager = original(self, count)
        connections = manager.__enter__()
        readers_seen.append(len(connections))
        # every reader, the extra one too, sees prod as of the run's snapshot, not as of its own start
        assert [c.exec_driver_sql("SELECT count(*) FROM genre").scalar() for c in connections] == [25, 25]
        try:
            yield connections
        finally:
            manager.__exit__(None, None, None)

    monkeypatch.setattr(Source, "snapshot_connections", contextlib.contextmanager(commit_then_share))
    target = pg_server.new_database("par")
    options = options_for(source, target, jobs=4)
    report = run(options, new_report(options, {}))
    assert readers_seen == [2]  # two readers really ran
    rows = {t.name: t.rows_written for t in report.tables}
    assert rows["public.genre"] == 25 and rows["public.media_type"] == 5 and rows["public.artist"] == 275
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM genre WHERE genre_id = 9001").scalar() == 0
    engine.dispose()
    pg_server.drop_database(target)


def test_tables_sharing_a_unique_mapping_are_read_in_one_lane(tmp_path: Path) -> None:
    from sanitizer.pipeline import lanes
    from sanitizer.plan import build_plan
    from sanitizer.schema.model import ColumnInfo, SchemaInfo, TableInfo

    def table(name: str, unique: bool) -> TableInfo:
        column = ColumnInfo(table=name, name="email", type_name="TEXT", arrow_type=pa.string(), unique=unique)
        return TableInfo(schema=None, name=name, columns=(column,))

    schema = SchemaInfo(dialect="sqlite", default_schema=None, tables={
        "users": table("users", True), "notes": table("notes", False), "admins": table("admins", True),
        "other": table("other", True)})
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("version: 1\ntables:\n  users: {columns: {email: email}}\n"
                          "  notes: {columns: {email: keep}}\n  admins: {columns: {email: email}}\n"
                          "  other: {columns: {email: {strategy: email, email_domain: example.org}}}\n")
    rules = load_rules([rules_file])
    groups = [[p.info.name for p in group] for group in lanes(build_plan(schema, rules))]
    assert ["users", "admins"] in groups  # same mapping on UNIQUE columns: one lane, in plan order
    assert ["notes"] in groups and ["other"] in groups


def test_psql_and_psycopg_reads_give_identical_staging(cli, pg_fixture, pg_server, tmp_path: Path) -> None:
    """Whole tables stream through psql in the run's snapshot; without psql, through psycopg's COPY."""
    source = pg_fixture("pagila")  # partitions, arrays, tsvector, bytea, newlines inside values
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\ndefaults: {unknown_columns: keep}\n"
                     "tables:\n  customer: {columns: {email: {strategy: email}, last_name: {strategy: fake, "
                     "kind: last_name}}}\n  address: {columns: {phone: {strategy: set, value: \"555-0100\"}}}\n"
                     "  staff: {columns: {email: email, password: nullify, picture: nullify}}\n")
    outputs = []
    for psql in ("", "none"):
        target = pg_server.new_database("psql")
        env = {"SANITIZER_PSQL": psql} if psql else {}
        result = cli("run", "--source", source, "--target", target, "--rules", str(rules), env=env)
        assert result.returncode == 0, result.stderr
        outputs.append(dump(target))
        pg_server.drop_database(target)
    assert outputs[0] == outputs[1]
    assert sum(len(rows) for rows in outputs[0].values()) > 40_000


def test_a_failing_psql_is_a_runtime_error_naming_the_table(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    fake = tmp_path / "psql"
    fake.write_text("#!/bin/sh\necho 'psql: ERROR:  permission denied for table artist' >&2\nexit 1\n")
    fake.chmod(0o755)
    source = pg_fixture("chinook")
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(CHINOOK_RULES),
                 env={"SANITIZER_PSQL": str(fake)})
    assert result.returncode == 3
    assert "failed: psql: ERROR:  permission denied for table artist" in result.stderr
    assert "Traceback" not in result.stderr
