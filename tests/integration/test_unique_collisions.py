"""UNIQUE columns whose masked values collide (here: forced by a narrow varchar) are settled, not failed:
distinct logins stay distinct, references follow the re-mapped values, and the outcome is reproducible."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from sanitizer.keys import Keyring
from sanitizer.pipeline import RunOptions, new_report, run
from sanitizer.rules import load_rules
from sanitizer.urls import parse

ACCOUNTS = 3000


def make_source(path: Path) -> str:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE accounts (login VARCHAR(7) PRIMARY KEY, plan TEXT NOT NULL)")
        db.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, "
                   "login VARCHAR(7) NOT NULL REFERENCES accounts(login))")
        db.executemany("INSERT INTO accounts VALUES (?, ?)", [(f"a{i:04d}", "free") for i in range(ACCOUNTS)])
        db.executemany("INSERT INTO sessions (login) VALUES (?)", [(f"a{(i * 37) % ACCOUNTS:04d}",)
                                                                    for i in range(3 * ACCOUNTS)])
    return f"sqlite:///{path}"


def write_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\ntables:\n  accounts:\n    columns:\n      login: username\n      plan: keep\n"
                     "  sessions:\n    columns:\n      id: keep\n")
    return rules


def sanitize(source: str, target: str, rules: Path, jobs: int, batch_rows: int | None = None) -> dict:
    options = RunOptions(source=parse(source, what="source"), rules=load_rules([rules]),
                         keyring=Keyring("collision-key-0123"), target=parse(target, what="target"),
                         jobs=jobs, pool_rows=0)
    report = run(options, new_report(options, {}))
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        accounts = [r[0] for r in conn.exec_driver_sql("SELECT login FROM accounts ORDER BY rowid")]
        sessions = [r[0] for r in conn.exec_driver_sql("SELECT login FROM sessions ORDER BY id")]
    engine.dispose()
    return {"accounts": accounts, "sessions": sessions, "report": report}


@pytest.fixture
def small_batches(monkeypatch):
    """Many batches, so collisions meet across batches and the --jobs pool really runs."""
    from sanitizer.source.reader import Source

    monkeypatch.setitem(Source.__init__.__kwdefaults__, "batch_rows", 700)


def test_narrow_unique_column_is_settled_and_references_follow(tmp_path, small_batches) -> None:
    source = make_source(tmp_path / "prod.db")
    rules = write_rules(tmp_path)
    first = sanitize(source, f"sqlite:///{tmp_path / 'a.db'}", rules, jobs=1)
    logins = first["accounts"]
    assert len(logins) == ACCOUNTS and len(set(logins)) == ACCOUNTS  # unique despite 7 characters
    assert all(len(login) <= 7 for login in logins)
    assert not set(logins) & {f"a{i:04d}" for i in range(ACCOUNTS)}
    # the truncation did make distinct inputs meet: without the ledger the run would fail validation
    assert first["report"].uniqueness_resolved.get("accounts.login", 0) > 0
    # every session still points at its account's new login
    mapping = dict(zip((f"a{i:04d}" for i in range(ACCOUNTS)), logins, strict=True))
    expected = [mapping[f"a{(i * 37) % ACCOUNTS:04d}"] for i in range(3 * ACCOUNTS)]
    assert first["sessions"] == expected


def test_collisions_resolve_the_same_in_workers_and_in_another_run(tmp_path, small_batches) -> None:
    source = make_source(tmp_path / "prod.db")
    rules = write_rules(tmp_path)
    one = sanitize(source, f"sqlite:///{tmp_path / 'a.db'}", rules, jobs=1)
    two = sanitize(source, f"sqlite:///{tmp_path / 'b.db'}", rules, jobs=2)
    again = sanitize(source, f"sqlite:///{tmp_path / 'c.db'}", rules, jobs=1)
    assert one["accounts"] == two["accounts"] == again["accounts"]
    assert one["sessions"] == two["sessions"] == again["sessions"]


def test_postgres_copy_path_settles_collisions_and_keeps_the_foreign_key(pg_url, pg_server, tmp_path,
                                                                         monkeypatch) -> None:
    from sanitizer.source import pg_copy

    monkeypatch.setattr(pg_copy, "BLOCK_BYTES", 8 << 10)  # many small batches, so the pool really runs
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE accounts (login varchar(7) PRIMARY KEY, plan text NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE sessions (id serial PRIMARY KEY, "
                             "login varchar(7) NOT NULL REFERENCES accounts(login))")
        conn.exec_driver_sql(f"INSERT INTO accounts SELECT 'a' || lpad(i::text, 4, '0'), 'free' "
                             f"FROM generate_series(0, {ACCOUNTS - 1}) i")
        conn.exec_driver_sql(f"INSERT INTO sessions (login) SELECT 'a' || lpad(mod(i * 37, {ACCOUNTS})::text, 4, "
                             f"'0') FROM generate_series(0, {3 * ACCOUNTS - 1}) i")
    engine.dispose()
    rules = write_rules(tmp_path)
    results = []
    for jobs in (1, 2):
        target = pg_server.new_database("uniq")
        options = RunOptions(source=parse(pg_url, what="source"), rules=load_rules([rules]),
                             keyring=Keyring("collision-key-0123"), target=parse(target, what="target"),
                             jobs=jobs, pool_rows=0)
        report = run(options, new_report(options, {}))  # the UNIQUE and FK constraints are re-added by PostgreSQL
        assert sum(report.uniqueness_resolved.values()) > 0
        engine = sa.create_engine(target)
        with engine.connect() as conn:
            results.append(conn.exec_driver_sql(
                "SELECT a.login, count(s.id) FROM accounts a LEFT JOIN sessions s USING (login) "
                "GROUP BY a.login ORDER BY a.login").all())
        engine.dispose()
    assert results[0] == results[1]
    assert len(results[0]) == ACCOUNTS and sum(n for _, n in results[0]) == 3 * ACCOUNTS
