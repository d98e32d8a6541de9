"""Refresh benchmark: `pg_dump -Fc -Z0 | pg_restore` against `sanitizer run` on the same database.

    python benchmarks/refresh.py --rows 1000000 [--url postgresql://...] [--table-readers N]

Builds `users` (N rows) and `orders` (2N rows) in a bench database, then times a plain dump/restore into
a fresh database and a sanitizer run (6 users columns and 1 orders column masked, validation on) into
staging, and prints both wall times, the ratio, rows/s and sanitizer's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

RULES = """
version: 1
tables:
  users:
    columns:
      id: keep
      first_name: {strategy: fake, kind: first_name}
      last_name: {strategy: fake, kind: last_name}
      email: {strategy: fake, kind: email, unique: true}
      phone: {strategy: mask, keep_last: 2}
      ssn: hash
      street: {strategy: fake, kind: street_address}
      city: keep
      birth_date: keep
      created_at: keep
      notes: keep
  orders:
    columns:
      id: keep
      user_id: keep
      amount: keep
      created_at: keep
      shipping_address: {strategy: fake, kind: street_address}
"""

BUILD = """
CREATE TABLE users (
  id bigint PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, email text NOT NULL UNIQUE,
  phone text, ssn text, street text, city text, birth_date date, created_at timestamptz NOT NULL, notes text);
INSERT INTO users
SELECT i,
  (ARRAY['Anna','Ben','Carla','David','Eva','Farid','Gina','Hugo','Ines','Jon'])[1 + i % 10] || (i % 997),
  (ARRAY['Smith','Jones','Garcia','Muller','Rossi','Dubois','Nowak','Silva','Kim','Sato'])[1 + i % 10] || (i % 991),
  'user' || i || '.' || substr(md5(i::text), 1, 6) || '@mail.example.org',
  '+1-' || lpad((i % 1000)::text, 3, '0') || '-555-' || lpad((i % 10000)::text, 4, '0'),
  lpad((100 + i % 800)::text, 3, '0') || '-' || lpad((1 + i % 99)::text, 2, '0') || '-'
    || lpad((i % 9999 + 1)::text, 4, '0'),
  (i % 9000 + 1) || ' ' || (ARRAY['Oak','Elm','Pine','Birch'])[1 + i % 4] || ' Street ' || substr(md5(i::text), 7, 4),
  (ARRAY['Berlin','Paris','Lisbon','Oslo','Rome'])[1 + i % 5],
  date '1950-01-01' + (i % 20000)::int,
  timestamptz '2020-01-01' + (i % 100000) * interval '1 minute',
  CASE WHEN i % 3 = 0 THEN NULL ELSE 'customer since ' || (2000 + i % 20) END
FROM generate_series(1::bigint, :n) AS i;
CREATE TABLE orders (
  id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id), amount numeric(10,2) NOT NULL,
  created_at timestamptz NOT NULL, shipping_address text);
INSERT INTO orders
SELECT i, 1 + (i * 7919) % :n, (i % 100000) / 100.0, timestamptz '2021-01-01' + i * interval '1 second',
  (i % 9000 + 1) || ' ' || (ARRAY['Oak','Elm','Pine','Birch'])[1 + i % 4] || ' Avenue ' || substr(md5(i::text), 3, 4)
FROM generate_series(1::bigint, 2 * :n) AS i;
CREATE INDEX orders_user_id ON orders (user_id);
"""


def admin(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def db_url(url: str, name: str) -> str:
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", default=os.environ.get("SANITIZER_TEST_PG_URL",
                                                        "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true", help="Keep the bench databases afterwards.")
    parser.add_argument("--table-readers", type=int, help="Passed to `sanitizer run --table-readers` "
                        "(psql COPYs per big table, in block ranges).")
    args = parser.parse_args()
    n = args.rows
    names = {"src": "bench_src", "restore": "bench_restore", "staging": "bench_staging"}
    admin(args.url, *(f"DROP DATABASE IF EXISTS {d} WITH (FORCE)" for d in names.values()),
          *(f"CREATE DATABASE {d}" for d in names.values()))
    t0 = time.monotonic()
    engine = sa.create_engine(db_url(args.url, names["src"]))
    with engine.begin() as conn:
        for statement in BUILD.split(";\n"):
            if statement.strip():
                conn.execute(sa.text(statement), {"n": n})
    engine.dispose()
    # settle the fresh rows before timing anything: otherwise autovacuum and the first reader's hint-bit
    # writes land on whichever of the two runs comes first (seen: dump|restore 9.8 s then 8.3 s)
    admin(db_url(args.url, names["src"]), "VACUUM (FREEZE, ANALYZE)", "CHECKPOINT")
    print(f"built users={n:,} orders={2 * n:,} in {time.monotonic() - t0:.1f} s")

    url = sa.engine.make_url(args.url)
    pg_env = {**os.environ, "PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432),
              "PGUSER": url.username or "postgres"}
    admin(args.url, "CHECKPOINT")  # each contestant starts with no dirty buffers left by the one before
    t0 = time.monotonic()
    subprocess.run(f"pg_dump -Fc -Z0 -d {names['src']} | pg_restore -d {names['restore']}", shell=True,
                   check=True, env=pg_env)
    dump_s = time.monotonic() - t0

    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "bench.yaml"
        rules.write_text(RULES)
        env = {**os.environ, "SANITIZER_KEY": "benchmark-key-0123456789"}
        admin(args.url, "CHECKPOINT")
        t0 = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "sanitizer", "run", "--source", db_url(args.url, names["src"]),
                                 "--target", db_url(args.url, names["staging"]), "--rules", str(rules),
                                 "--audit-file", str(Path(tmp) / "audit.jsonl"),
                                 *(["--table-readers", str(args.table_readers)] if args.table_readers else [])],
                                env=env, capture_output=True,
                                text=True)
        run_s = time.monotonic() - t0
    if result.returncode != 0:
        sys.exit(f"sanitizer run failed ({result.returncode}): {result.stderr.strip()}")
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows = 3 * n
    print(f"pg_dump | pg_restore : {dump_s:7.2f} s  ({rows / dump_s:,.0f} rows/s)")
    print(f"sanitizer run        : {run_s:7.2f} s  ({rows / run_s:,.0f} rows/s), peak RSS {rss_mb:,.0f} MB")
    print(f"ratio sanitizer / dump-restore: {run_s / dump_s:.2f}")
    print(result.stdout.strip())
    if not args.keep:
        admin(args.url, *(f"DROP DATABASE IF EXISTS {d} WITH (FORCE)" for d in names.values()))


if __name__ == "__main__":
    main()
