"""Staging stays exactly as it was when a run dies: killed mid-load, a database error mid-COPY, or a
second run against the same target. Readers of staging are not blocked during a load."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from cli_process import end_group, start_run
from fidelity_helpers import checksums, leftovers, rows
from rules_files import keep_all_rules

BIG_ROWS = 1_500_000

FAULT_KEY = "fault-test-key-0123456789"  # any key: these tests compare staging before and after


def _libpq(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def big_source(pg_fixture) -> str:
    """Chinook plus one table big enough that its COPY into staging lasts a few seconds."""
    source = pg_fixture("chinook")
    with psycopg.connect(_libpq(source), autocommit=True) as conn:
        conn.execute("CREATE TABLE public.big (id bigint PRIMARY KEY, payload text NOT NULL)")
        conn.execute(f"INSERT INTO public.big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, {BIG_ROWS}) g")
    return source


def _output(cwd: Path) -> str:
    return (cwd / "run.log").read_text()


def _wait_for_copy(target: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until the target shows the run's COPY ... FROM STDIN as active."""
    dbname = sa.engine.make_url(target).database
    deadline = time.monotonic() + timeout
    with psycopg.connect(_libpq(target), autocommit=True) as conn:
        while time.monotonic() < deadline:
            found = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                                 "AND query ILIKE 'COPY %%big%% FROM STDIN%%'", (dbname,)).fetchone()[0]
            if found:
                return
            assert proc.poll() is None, "the run ended before copying"
            time.sleep(0.02)
    raise AssertionError("the run never started copying")


def _read_without_waiting(target: str) -> int:
    """A staging reader during the load: gets the old rows, or fails (lock_timeout) if the load blocks it."""
    with psycopg.connect(_libpq(target), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '1s'")
        return conn.execute("SELECT count(*) FROM public.big").fetchone()[0]


def _wait_until_gone(target: str) -> None:
    """The killed client's backend notices the lost connection and rolls back."""
    dbname = sa.engine.make_url(target).database
    with psycopg.connect(_libpq(target), autocommit=True) as conn:
        for _ in range(500):
            if not conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                                "pg_backend_pid() AND backend_type = 'client backend'", (dbname,)).fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the killed run's session is still there")


def test_kill_9_during_the_load_leaves_staging_as_it_was(cli, big_source, pg_url, tmp_path: Path) -> None:
    rules = keep_all_rules(big_source, tmp_path / "rules.yaml")
    first = cli("run", "--source", big_source, "--target", pg_url, "--rules", str(rules))
    assert first.returncode == 0, first.stderr
    before = checksums(pg_url)
    with psycopg.connect(_libpq(big_source), autocommit=True) as conn:  # so that a new load would differ
        conn.execute("DELETE FROM public.big WHERE id % 10 = 0")
        conn.execute("UPDATE public.artist SET name = name || ' (new)'")
    proc = start_run(big_source, pg_url, rules, tmp_path, FAULT_KEY)
    try:
        _wait_for_copy(pg_url, proc)
        assert _read_without_waiting(pg_url) == BIG_ROWS  # the old staging, readable while the load runs
        proc.send_signal(signal.SIGKILL)  # the sanitizer process only, as the OOM killer would
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        end_group(proc)
    _wait_until_gone(pg_url)
    assert checksums(pg_url) == before
    again = cli("run", "--source", big_source, "--target", pg_url, "--rules", str(rules))
    assert again.returncode == 0, again.stderr
    assert rows(pg_url, "SELECT count(*) FROM public.big")[0][0] == BIG_ROWS - BIG_ROWS // 10
    assert leftovers(pg_url) == []


def test_database_error_mid_copy_is_exit_3_and_staging_unchanged(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    source = pg_fixture("pagila")
    rules = keep_all_rules(source, tmp_path / "rules.yaml")
    assert cli("run", "--source", source, "--target", pg_url, "--rules", str(rules)).returncode == 0
    before = checksums(pg_url)
    # film.release_year is of domain `year` CHECK (VALUE >= 1901 AND VALUE <= 2155)
    bad = keep_all_rules(source, tmp_path / "bad.yaml", {"film": {"release_year": {"strategy": "set", "value": 1800}}})
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(bad))
    assert result.returncode == 3, result.stderr
    assert "loading public.film failed" in result.stderr and "year_check" in result.stderr
    assert "1800" not in result.stderr  # the message names the constraint, not the value
    assert checksums(pg_url) == before
    assert leftovers(pg_url) == []


def test_a_second_concurrent_run_is_refused_with_exit_3(cli, big_source, pg_url, tmp_path: Path) -> None:
    rules = keep_all_rules(big_source, tmp_path / "rules.yaml")
    proc = start_run(big_source, pg_url, rules, tmp_path, FAULT_KEY)
    try:
        _wait_for_copy(pg_url, proc)
        second = cli("run", "--source", big_source, "--target", pg_url, "--rules", str(rules))
        assert second.returncode == 3
        assert "another sanitizer run is loading it" in second.stderr
        assert proc.wait(timeout=300) == 0, _output(tmp_path)
    finally:
        end_group(proc)
    assert rows(pg_url, "SELECT count(*) FROM public.big")[0][0] == BIG_ROWS
