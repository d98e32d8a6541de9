"""One big table read by several psql COPYs at once, in block ranges of the run's snapshot: the same
staging whatever the number of readers, and a reader that fails leaves staging as it was."""

from __future__ import annotations

import shutil
import stat
import time
from pathlib import Path

import pytest
from dbs import execute
from dbs import query_rows as rows

from sanitizer.source.ranges import ctid_ranges, in_order

RULES = """\
tables:
  big:
    columns:
      id: keep
      email: {strategy: fake, kind: email, unique: true}
      salary: shuffle
      note: hash
"""
SMALL_RANGES = {"SANITIZER_RANGE_PAGES": "64"}  # the 120k-row table (~1,400 blocks) in ~22 ranges


@pytest.fixture
def big(pg_server) -> str:
    url = pg_server.new_database("big")
    execute(url, "CREATE TABLE big (id int PRIMARY KEY, email text UNIQUE NOT NULL, salary int, note text)",
            "INSERT INTO big SELECT g, 'user' || g || '@example.org', 20000 + mod(g * 7919, 90000), "
            "'note ' || md5(g::text) FROM generate_series(1, 120000) g",
            "DELETE FROM big WHERE mod(id, 97) = 0",  # holes, as real tables have
            "VACUUM ANALYZE big")
    yield url
    pg_server.drop_database(url)


def staged(url: str) -> list[tuple]:
    return rows(url, "SELECT id, email, salary, note FROM big ORDER BY id")


def run(cli, source: str, target: str, tmp_path: Path, *extra: str, env: dict | None = None):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    return cli("run", "--source", source, "--target", target, "--rules", str(rules), *extra,
               env={**SMALL_RANGES, **(env or {})})


def test_any_number_of_readers_gives_the_same_staging(cli, big, pg_server, tmp_path: Path) -> None:
    one, four, whole = (pg_server.new_database(n) for n in ("one", "four", "whole"))
    try:
        assert run(cli, big, one, tmp_path, "--table-readers", "1").returncode == 0
        result = run(cli, big, four, tmp_path, "--table-readers", "4", "--jobs", "2")
        assert result.returncode == 0, result.stderr
        assert staged(one) == staged(four)
        assert len(staged(four)) == rows(big, "SELECT count(*) FROM big")[0][0]
        # the ranges were really used: read whole (one COPY, one batch), shuffle moves values differently
        assert cli("run", "--source", big, "--target", whole, "--rules", str(tmp_path / "rules.yaml")).returncode == 0
        ranged, unranged = staged(four), staged(whole)
        assert [r[:2] + r[3:] for r in ranged] == [r[:2] + r[3:] for r in unranged]  # per-value strategies
        assert [r[2] for r in ranged] != [r[2] for r in unranged]  # shuffle works per batch
        assert sorted(r[2] for r in ranged) == sorted(r[2] for r in unranged)
    finally:
        for url in (one, four, whole):
            pg_server.drop_database(url)


def test_a_failing_range_reader_leaves_staging_as_it_was(cli, big, pg_url, tmp_path: Path) -> None:
    assert run(cli, big, pg_url, tmp_path, "--table-readers", "3").returncode == 0
    before = staged(pg_url)
    real = shutil.which("psql")
    assert real, "psql is needed by this test (the range readers are psql processes)"
    wrapper = tmp_path / "psql"
    wrapper.write_text(f"#!/bin/sh\ncase \"$*\" in *\"ctid >= '(640,0)'\"*) echo 'psql: error: injected' >&2; "
                       f"exit 2;; esac\nexec {real} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    execute(big, "UPDATE big SET note = 'changed' WHERE id < 10")
    result = run(cli, big, pg_url, tmp_path, "--table-readers", "3", env={"SANITIZER_PSQL": str(wrapper)})
    assert result.returncode == 3, result.stderr
    assert "reading public.big failed" in result.stderr and "injected" in result.stderr
    assert staged(pg_url) == before


def test_ranges_cover_every_block_once() -> None:
    assert ctid_ranges(100, 100) == []  # one range: read whole
    clauses = ctid_ranges(250, 100)
    assert clauses == [" WHERE ctid >= '(0,0)'::tid AND ctid < '(100,0)'::tid",
                       " WHERE ctid >= '(100,0)'::tid AND ctid < '(200,0)'::tid",
                       " WHERE ctid >= '(200,0)'::tid"]  # the last is open: a block added later is read


def test_in_order_reads_ahead_but_yields_in_range_order() -> None:
    started: list[float] = []

    def read(where: str):
        started.append(time.monotonic())
        for part in range(3):
            time.sleep(0.05)
            yield (where, part)

    ranges = [f"r{i}" for i in range(6)]
    t0 = time.monotonic()
    got = list(in_order(ranges, read, readers=3))
    assert got == [(r, p) for r in ranges for p in range(3)]
    assert time.monotonic() - t0 < 6 * 3 * 0.05 * 0.8  # ranges overlapped
    assert sorted(started)[2] - t0 < 0.1  # three readers began at once

    def failing(where: str):
        yield (where, 0)
        if where == "r2":
            raise RuntimeError("reader failed")

    with pytest.raises(RuntimeError, match="reader failed"):
        list(in_order(ranges, failing, readers=2))


def test_a_consumer_that_stops_early_stops_the_readers() -> None:
    closed: list[str] = []

    def read(where: str):
        try:
            for part in range(1000):
                yield (where, part)
        finally:
            closed.append(where)

    batches = in_order([f"r{i}" for i in range(4)], read, readers=2)
    assert next(batches) == ("r0", 0)
    batches.close()
    assert set(closed) == {"r0", "r1"}  # both readers' COPYs were closed, none left running
