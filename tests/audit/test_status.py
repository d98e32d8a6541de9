"""`sanitizer status`: staging freshness read from the audit log of a real PostgreSQL target (or a local
file), with the exit codes a monitor alerts on."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sanitizer.audit import db, log
from sanitizer.audit.status import freshness

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "demo.yaml"


@pytest.fixture
def prod(demo_prod: str) -> str:
    return demo_prod


def test_fresh_after_a_run_then_a_failed_attempt_is_a_warning(cli, prod, pg_url, tmp_path: Path) -> None:
    assert cli("run", "--source", prod, "--target", pg_url, "--rules", str(RULES)).returncode == 0
    fresh = cli("status", "--target", pg_url, "--max-age", "26h")
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.startswith("fresh: last refresh ") and "5 tables" in fresh.stdout and fresh.stderr == ""
    report = json.loads(cli("status", "--target", pg_url, "--format", "json").stdout)
    assert report["status"] == "fresh" and report["last_failure"] is None
    assert report["last_success"]["command"] == "run" and report["last_success"]["environment"] == "staging"
    assert report["last_success"]["rows"] > 1000 and 0 <= report["last_success"]["age_s"] < 600
    [record] = [r for r in db.read_db(pg_url) if r["command"] == "run"]
    assert report["last_success"]["hash"] == record["hash"]

    refused = cli("run", "--source", prod, "--target", pg_url, "--rules", str(RULES), "--min-utility", "0.9999")
    assert refused.returncode == 1  # findings: staging kept the last good refresh, and the log says so
    after = cli("status", "--target", pg_url, "--max-age", "26h")
    assert after.returncode == 0
    [warning] = after.stderr.strip().splitlines()
    assert warning.startswith("warning: the last attempt at ") and "failed (exit 1: validation failed" in warning
    assert f"staging still holds the refresh of {report['last_success']['time']}" in warning
    # the same records, 27 hours on: stale
    later = datetime.fromisoformat(report["last_success"]["time"]) + timedelta(hours=27)
    assert freshness(db.read_db(pg_url), None, timedelta(hours=26), now=later)["status"] == "stale"
    assert freshness(db.read_db(pg_url), "qa", None)["status"] == "never"  # another environment's refreshes


def test_stale_and_never_refreshed_are_exit_1(cli, pg_url, tmp_path: Path) -> None:
    never = cli("status", "--target", pg_url, "--max-age", "26h")
    assert never.returncode == 1
    assert never.stdout.startswith("NEVER: no successful refresh of ")
    assert "was never refreshed" in never.stderr
    audit = tmp_path / "audit.jsonl"
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")
    log.append(audit, {"command": "run", "actor": "cron", "time": two_days_ago, "exit_code": 0, "dry_run": False,
                       "environment": "staging", "tables": {"customers": 10}})
    log.append(audit, {"command": "run", "actor": "cron", "time": datetime.now(UTC).isoformat(timespec="seconds"),
                       "exit_code": 0, "dry_run": True, "environment": "staging", "tables": {"customers": 10}})
    assert log.verify_file(audit) is None  # a real chain, as runs write it
    stale = cli("status", "--file", str(audit), "--max-age", "26h")
    assert stale.returncode == 1
    assert stale.stdout.startswith(f"STALE: last refresh {two_days_ago} (2d 0h ")  # the dry run does not count
    assert "is stale: last refresh 2d 0h" in stale.stderr
    assert cli("status", "--file", str(audit), "--max-age", "3d").returncode == 0


def test_usage_errors_are_exit_2_and_an_unreachable_target_exit_3(cli, tmp_path: Path) -> None:
    bad = cli("status", "--file", str(tmp_path / "none.jsonl"), "--max-age", "26x")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: --max-age '26x': use a number and a unit (s, m, h, d, w), e.g. 7d or 12h"]
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = cli("status", "--target", f"postgresql://postgres@127.0.0.1:{port}/staging", "--max-age", "26h")
    assert down.returncode == 3, down.stderr
    assert len(down.stderr.strip().splitlines()) == 1 and "Traceback" not in down.stderr
    sqlite = cli("status", "--target", f"sqlite:///{tmp_path / 's.db'}")
    assert sqlite.returncode == 2 and "pass --file" in sqlite.stderr
    env = cli("status", "--file", str(tmp_path / "missing.jsonl"), env={"SANITIZER_MAX_AGE": "26h"})
    assert env.returncode == 2 and "no such file" in env.stderr
