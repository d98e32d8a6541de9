"""How worker processes start (parallel.py), and starting their fork server early for a big source.

Kept free of heavy imports on purpose: `sanitizer run` calls `start_early` before it imports its own
libraries (SQLAlchemy, pyarrow, polars: ~0.9 s on 2 cores), so that the fork server imports the workers'
code on the other core meanwhile, instead of after the source's size is known. Measured on the refresh
benchmark (1M users, 2M orders): 10.57 -> 10.29 s, median of 4 alternating runs.
"""

from __future__ import annotations

import multiprocessing
import re
import threading

# Worker processes pay off only on big sources: the pool costs ~1 s of imports (once, in the fork server),
# and on 2 cores a 300k-row refresh took 3.4 s with them and 2.7 s without (benchmarks/refresh.py, with
# one import per worker then). Planner's estimate, all tables.
POOL_ROWS = 1_000_000

# What a worker imports, done once in the fork server rather than once per worker (about 1 s each on
# 2 cores). pandas: pyarrow imports it on the first pa.array() call anyway, to test for pandas objects.
WORKER_PRELOAD = ["sanitizer.parallel", "sanitizer.strategies.registry", "pandas", "faker"]

# the planner's row estimate over the user tables: catalog only, no table is read
ESTIMATE_SQL = ("SELECT coalesce(sum(greatest(reltuples, 0)), 0) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN "
                "('pg_catalog', 'information_schema')")
POSTGRES_URL = re.compile(r"^postgres(?:ql)?(?:\+\w+)?://")


def worker_context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one (Linux): workers fork from a process that imported their code already;
    never plain fork, which would copy this process's threads and connections. Else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_PRELOAD)
    return context


def start_early(source_url: str | None, jobs: int | None) -> threading.Thread | None:
    """For a PostgreSQL source of at least POOL_ROWS rows (the planner's estimate, asked on a read-only
    connection of its own), start the fork server now, in the background. Anything unusual (another
    database, a URL libpq cannot read, an unreachable server) just skips this: the run starts its
    workers later, as it would have, and reports errors itself."""
    if not source_url or not POSTGRES_URL.match(source_url) or (jobs is not None and jobs <= 1):
        return None
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    conninfo = POSTGRES_URL.sub("postgresql://", source_url)
    thread = threading.Thread(target=_start_if_big, args=(conninfo,), name="sanitizer-pool-prestart", daemon=True)
    thread.start()
    return thread


def _start_if_big(conninfo: str) -> None:
    try:
        import psycopg

        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5, application_name="sanitizer-probe",
                             options="-c default_transaction_read_only=on") as conn:
            estimate = conn.execute(ESTIMATE_SQL).fetchone()[0]
        if estimate is not None and estimate >= POOL_ROWS:
            from multiprocessing import forkserver

            worker_context()
            forkserver.ensure_running()
    except Exception:  # an optimisation only: the run itself reports what is wrong
        return
