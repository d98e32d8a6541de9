"""`sanitizer load --from DIR`: one-line errors for a bad directory, run's guard rails (production marker,
a concurrent load), run's audit trail, and --dry-run — through the real CLI on real databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbs import query_rows as rows
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from sanitizer.audit import db, guard, log
from sanitizer.load.target import LOCK_KEY

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "chinook.yaml"


@pytest.fixture
def snapshot(cli, pg_fixture, tmp_path: Path) -> Path:
    """A `run --out` snapshot of Chinook (PostgreSQL, with its pg_dump DDL)."""
    directory = tmp_path / "snap"
    result = cli("run", "--source", pg_fixture("chinook"), "--rules", str(RULES), "--out", str(directory))
    assert result.returncode == 0, result.stderr
    return directory


def tables_in(url: str) -> int:
    return rows(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0]


@pytest.mark.parametrize(("setup", "expected"), [
    (None, "error: --from {d}: no such directory; pass a directory written by `sanitizer run --out DIR`"),
    ("", "error: {d}/manifest.json: no manifest here; --from takes a directory written by "
         "`sanitizer run --out DIR`"),
    ("{", "error: {d}/manifest.json:1: not JSON (Expecting property name enclosed in double quotes); the manifest "
          "is damaged: write the snapshot again with `sanitizer run --out DIR`"),
    ('{"format": "sanitizer-snapshot/1", "tables": {}}',
     "error: {d}/manifest.json: format sanitizer-snapshot/1 holds no schema to load staging from; write the "
     "snapshot again with `sanitizer run --out DIR` (format sanitizer-snapshot/2)"),
    ('{"format": "sanitizer-synth/1"}',
     "error: {d}/manifest.json: format 'sanitizer-synth/1' is not a snapshot this sanitizer can load (expected "
     "'sanitizer-snapshot/2'); write the snapshot again with `sanitizer run --out DIR`"),
    ('{"format": "sanitizer-snapshot/2", "key_fingerprint": "ab"}',
     "error: {d}/manifest.json: malformed manifest (missing or wrong 'schema'); write the snapshot again with "
     "`sanitizer run --out DIR`"),
], ids=["no directory", "no manifest", "not json", "format 1", "other format", "malformed"])
def test_a_bad_snapshot_directory_is_one_line_and_exit_2(cli, tmp_path: Path, setup: str | None,
                                                         expected: str) -> None:
    directory = tmp_path / "snap"
    if setup is not None:
        directory.mkdir()
        if setup:
            (directory / "manifest.json").write_text(setup)
    result = cli("load", "--from", str(directory), "--target", f"sqlite:///{tmp_path / 'staging.db'}")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [expected.format(d=directory)]
    assert not (tmp_path / "staging.db").exists()


def test_a_manifest_pointing_outside_its_directory_is_refused(cli, snapshot: Path, tmp_path: Path) -> None:
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["tables"]["public.customer"]["file"] = "../../etc/passwd"
    (snapshot / "manifest.json").write_text(json.dumps(manifest))
    result = cli("load", "--from", str(snapshot), "--target", f"sqlite:///{tmp_path / 'staging.db'}")
    assert result.returncode == 2
    assert "file '../../etc/passwd' lies outside the snapshot directory" in result.stderr


def test_a_production_marked_target_is_refused_even_with_force(cli, snapshot: Path, pg_url: str) -> None:
    guard.mark_environment(pg_url, "production")
    for extra in ([], ["--force"]):
        result = cli("load", "--from", str(snapshot), "--target", pg_url, *extra)
        assert result.returncode == 2, result.stderr
        assert "marked as environment 'production'; sanitizer never writes there" in result.stderr
    as_production = cli("load", "--from", str(snapshot), "--target", pg_url, "--environment", "production")
    assert as_production.returncode == 2 and "never production" in as_production.stderr
    assert tables_in(pg_url) == 0


def test_the_database_the_snapshot_came_from_is_refused(cli, tmp_path: Path, pg_fixture) -> None:
    source = pg_fixture("chinook")
    snap = tmp_path / "snap"
    assert cli("run", "--source", source, "--rules", str(RULES), "--out", str(snap)).returncode == 0
    result = cli("load", "--from", str(snap), "--target", source, "--force")
    assert result.returncode == 2
    assert "this is the database the snapshot was taken from; refusing to write production" in result.stderr


def test_a_load_while_another_holds_the_target_is_exit_3(cli, snapshot: Path, pg_url: str) -> None:
    engine = sa.create_engine(pg_url, poolclass=NullPool)
    try:
        with engine.connect() as conn, conn.begin():  # what a running `run` or `load` holds
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            result = cli("load", "--from", str(snapshot), "--target", pg_url)
    finally:
        engine.dispose()
    assert result.returncode == 3, result.stderr
    assert "another sanitizer run is loading it; try again when it ends" in result.stderr
    assert tables_in(pg_url) == 0
    assert [(r["command"], r["exit_code"]) for r in db.read_db(pg_url)] == [("load", 3)]


def test_a_load_is_audited_in_the_target_and_the_file(cli, snapshot: Path, pg_url: str, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    manifest = json.loads((snapshot / "manifest.json").read_text())
    result = cli("load", "--from", str(snapshot), "--target", pg_url, "--audit-file", str(audit), "--actor", "ops")
    assert result.returncode == 0, result.stderr
    assert "audit: recorded in sanitizer_audit.events (environment staging" in result.stdout
    records = db.read_db(pg_url)
    assert [r["command"] for r in records] == ["environment mark", "load"]
    load = records[1]
    assert load["actor"] == "ops" and load["exit_code"] == 0 and load["verdict"] == "pass"
    assert load["key_fingerprint"] == manifest["key_fingerprint"]
    assert load["rules_digest"] == manifest["rules_digest"]
    assert load["source"]["snapshot"] == str(snapshot) and load["source"]["taken_from"]["dialect"] == "postgresql"
    assert load["tables"]["public.customer"] == 59 and load["environment"] == "staging"
    lines = log.read_file(audit)
    assert [(r["command"], r["target_audit_hash"]) for r in lines] == [("load", load["hash"])]
    assert rows(pg_url, "SELECT fingerprint, environment FROM sanitizer_audit.key_fingerprints") == [
        (manifest["key_fingerprint"], "staging")]
    for where in (["--target", pg_url], ["--file", str(audit)]):
        verify = cli("audit", "verify", *where)
        assert verify.returncode == 0, verify.stderr
        assert verify.stdout.startswith("ok: ") and "hash chain intact" in verify.stdout


def test_dry_run_checks_and_loads_but_leaves_staging_untouched(cli, snapshot: Path, pg_url: str,
                                                               tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    result = cli("load", "--from", str(snapshot), "--target", pg_url, "--dry-run", "--audit-file", str(audit))
    assert result.returncode == 0, result.stderr
    assert "dry run, staging not touched" in result.stdout
    assert tables_in(pg_url) == 0 and db.read_db(pg_url) == []
    [line] = log.read_file(audit)
    assert line["command"] == "load" and line["dry_run"] is True and line["tables"]["public.invoice_line"] == 2240


def test_no_password_in_any_output(cli, snapshot: Path, pg_url: str, tmp_path: Path) -> None:
    password = "pw-Very-Secret-42"  # trust auth accepts any password; the point is where the text ends up
    target = make_url(pg_url).set(password=password).render_as_string(hide_password=False)
    audit = tmp_path / "audit.jsonl"
    good = cli("--debug", "load", "--from", str(snapshot), "--target", target, "--audit-file", str(audit))
    assert good.returncode == 0, good.stderr
    assert "staging swapped (postgresql+psycopg://postgres:***@" in good.stdout
    unreachable = make_url(target).set(port=1).render_as_string(hide_password=False)
    bad = cli("--debug", "load", "--from", str(snapshot), "--target", unreachable, "--audit-file", str(audit))
    assert bad.returncode == 3
    for text in (good.stdout, good.stderr, bad.stdout, bad.stderr, audit.read_text()):
        assert password not in text


def test_validate_reads_the_same_snapshot(cli, pg_fixture, tmp_path: Path) -> None:
    source, snap = pg_fixture("chinook"), tmp_path / "snap"
    assert cli("run", "--source", source, "--rules", str(RULES), "--out", str(snap)).returncode == 0
    result = cli("validate", "--rules", str(RULES), "--source", source, "--from", str(snap))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validation: PASS" in result.stdout
