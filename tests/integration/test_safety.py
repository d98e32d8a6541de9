"""Privacy and safety promises of a run: read-only source, no secrets in any output, dry runs touch nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sanitizer.errors import SourceError
from sanitizer.source.reader import Source
from sanitizer.urls import parse

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "chinook.yaml"


def test_source_snapshot_cannot_write_postgres(pg_fixture) -> None:
    with Source(parse(pg_fixture("chinook"), what="source")) as source:
        level = source.connection.exec_driver_sql("SHOW transaction_isolation").scalar()
        with pytest.raises(sa.exc.InternalError, match="read-only transaction"):
            source.connection.exec_driver_sql("UPDATE customer SET email = 'x'")
    assert level == "repeatable read"


def test_source_snapshot_cannot_write_sqlite(sqlite_chinook) -> None:
    with Source(parse(sqlite_chinook, what="source")) as source, \
            pytest.raises(sa.exc.OperationalError, match="readonly"):
        source.connection.exec_driver_sql("DELETE FROM Customer")


def test_missing_sqlite_source_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such SQLite file"), \
            Source(parse(f"sqlite:///{tmp_path / 'nope.db'}", what="source")):
        pass


def test_no_password_or_key_in_any_output(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    password, key = "pw-Very-Secret-42", "key-Very-Secret-0123456789"
    # trust auth on the test server accepts any password; the point is where the text ends up
    source = make_url(pg_fixture("chinook")).set(password=password).render_as_string(hide_password=False)
    target = make_url(pg_url).set(password=password).render_as_string(hide_password=False)
    outputs = []
    for args in (["--dry-run"], []):
        result = cli("--debug", "run", "--source", source, "--target", target, "--rules", str(RULES),
                     "--report-dir", str(tmp_path / "r"), "--audit-file", str(tmp_path / "audit.jsonl"), *args,
                     key=key)
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    missing_db = make_url(source).set(database="no_such_database").render_as_string(hide_password=False)
    failing = cli("--debug", "run", "--source", missing_db, "--target", target,
                  "--rules", str(RULES), "--audit-file", str(tmp_path / "audit.jsonl"), key=key)
    assert failing.returncode == 3
    outputs += [failing.stdout, failing.stderr]
    files = [p.read_text() for p in (tmp_path / "r").iterdir()] + [(tmp_path / "audit.jsonl").read_text()]
    for text in outputs + files:
        assert password not in text
        assert key not in text
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["exit_code"] for r in records] == [0, 0, 3]
    assert records[0]["dry_run"] is True
    assert records[1]["source"]["user"] == "postgres" and "password" not in json.dumps(records[1])


def test_dry_run_touches_nothing(cli, pg_fixture, pg_url) -> None:
    result = cli("run", "--source", pg_fixture("chinook"), "--target", pg_url, "--rules", str(RULES), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run, staging not touched" in result.stdout
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from pg_tables where schemaname='public'").scalar() == 0
        assert conn.exec_driver_sql("select count(*) from pg_namespace where nspname like 'sanitizer%%'").scalar() == 0
    engine.dispose()
