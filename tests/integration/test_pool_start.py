"""`sanitizer run` starts the workers' fork server before its own imports, for a big PostgreSQL source only."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sanitizer import pool_start

SCRIPT = """
import sys
from multiprocessing import forkserver
from sanitizer import pool_start
pool_start.POOL_ROWS = int(sys.argv[2])
thread = pool_start.start_early(sys.argv[1], 2)
if thread is not None:
    thread.join()
print("started" if forkserver._forkserver._forkserver_pid is not None else "not started")
"""


def started(url: str, pool_rows: int) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT, url, str(pool_rows)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forkserver")
def test_the_fork_server_starts_early_only_for_a_big_source(pg_fixture) -> None:
    url = pg_fixture("chinook")  # far below a million rows
    assert started(url, pool_rows=1_000_000) == "not started"
    assert started(url, pool_rows=0) == "started"
    driver_url = url.replace("postgresql://", "postgresql+psycopg://", 1)  # SQLAlchemy's spelling works too
    assert started(driver_url, pool_rows=0) == "started"


def test_anything_else_is_left_to_the_run() -> None:
    assert pool_start.start_early(None, 2) is None
    assert pool_start.start_early("sqlite:///prod.db", 2) is None
    assert pool_start.start_early("mysql+pymysql://root@127.0.0.1/shop", 2) is None
    assert pool_start.start_early("postgresql://u@127.0.0.1/db", 1) is None  # --jobs 1: no workers
    # an unreachable server: the probe gives up quietly, nothing starts
    assert started("postgresql://nobody@127.0.0.1:1/none", pool_rows=0) == "not started"
