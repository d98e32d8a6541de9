"""What a nightly job sees of a run: the --notify webhook, --log-format json, and progress per table."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dbs import TEST_KEY, execute

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "demo.yaml"


class Hook:
    """A real HTTP server on loopback that records what it is sent and answers with a chosen status."""

    def __init__(self, status: int = 204) -> None:
        self.received: list[dict] = []
        received, code = self.received, status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"type": self.headers["Content-Type"], "path": self.path, "body": json.loads(body)})
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0KEN-secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


@pytest.fixture
def prod(demo_prod: str) -> str:
    return demo_prod


def test_notify_posts_the_summary_of_a_run_that_loaded(cli, prod, hook, tmp_path: Path) -> None:
    result = cli("run", "--source", prod, "--target", f"sqlite:///{tmp_path / 's.db'}", "--rules", str(RULES),
                 "--notify", hook.url)
    assert result.returncode == 0, result.stderr
    [sent] = hook.received
    body = sent["body"]
    assert sent["type"] == "application/json" and sent["path"] == "/hooks/T0KEN-secret"
    assert body["status"] == "success" and body["exit_code"] == 0 and body["verdict"] == "pass"
    assert body["tables"] == 5 and body["rows"] > 1000 and body["findings"] == 0
    assert 0 < body["utility"] <= 1 and len(body["audit_hash"]) == 64
    audit = [json.loads(line) for line in (tmp_path / "sanitizer-audit.jsonl").read_text().splitlines()]
    assert audit[-1]["hash"] == body["audit_hash"]  # the webhook names the audit record it summarises


def test_notify_reports_a_broken_rules_file_and_a_refused_gate(cli, prod, hook, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables:\n  customers:\n    columns:\n      email: {strategy: fak}\n")
    result = cli("run", "--source", prod, "--target", f"sqlite:///{tmp_path / 's.db'}", "--rules", str(bad),
                 env={"SANITIZER_NOTIFY_URL": hook.url})
    assert result.returncode == 2
    gated = cli("run", "--source", prod, "--target", f"sqlite:///{tmp_path / 's.db'}", "--rules", str(RULES),
                "--notify", hook.url, "--min-utility", "0.9999")
    assert gated.returncode == 1
    first, second = (r["body"] for r in hook.received)
    assert first["status"] == "config_error" and first["exit_code"] == 2 and "unknown strategy 'fak'" in first["error"]
    assert second["status"] == "findings" and second["finding_kinds"] == ["utility_below_minimum"]
    assert not (tmp_path / "s.db").exists()  # the gate kept staging as it was: never created


def test_a_webhook_that_fails_never_changes_the_outcome_nor_shows_its_token(cli, prod, tmp_path: Path) -> None:
    down = Hook(status=500)
    try:
        result = cli("run", "--source", prod, "--target", f"sqlite:///{tmp_path / 's.db'}", "--rules", str(RULES),
                     "--notify", down.url)
    finally:
        down.close()
    assert result.returncode == 0
    assert f"warning: --notify: http://127.0.0.1:{down.server.server_port} answered HTTP 500" in result.stderr
    assert "T0KEN" not in result.stderr + result.stdout
    closed = cli("run", "--source", prod, "--target", f"sqlite:///{tmp_path / 's.db'}", "--rules", str(RULES),
                 "--notify", down.url)  # nobody listens there now
    assert closed.returncode == 0 and "cannot reach" in closed.stderr
    assert cli("run", "--source", prod, "--target", f"sqlite:///{tmp_path / 's.db'}", "--rules", str(RULES),
               "--notify", "ftp://x").returncode == 2


def test_log_format_json_makes_every_line_json(cli, prod, tmp_path: Path) -> None:
    result = cli("run", "--source", prod, "--target", f"sqlite:///{tmp_path / 's.db'}", "--rules", str(RULES),
                 "--log-format", "json")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    err = [json.loads(line) for line in result.stderr.splitlines()]
    events = [r["event"] for r in out + err]
    assert events.count("table_done") == 5 and events.count("run_finished") == 1
    done = {r["table"]: r for r in err if r["event"] == "table_done"}
    assert done["customers"]["rows"] == 300 and done["customers"]["rows_per_s"] > 0
    [finished] = [r for r in out if r["event"] == "run_finished"]
    assert finished["status"] == "success" and finished["tables"] == 5
    assert all({"time", "level", "event"} <= set(r) for r in out + err)
    broken = cli("run", "--source", prod, "--rules", str(RULES), env={"SANITIZER_LOG_FORMAT": "json"})
    assert broken.returncode == 2
    [line] = [json.loads(x) for x in broken.stderr.splitlines()]
    assert line["level"] == "error" and line["message"].startswith("error: run: give exactly one of --target")


def test_plain_lines_without_a_terminal(cli, prod, tmp_path: Path) -> None:
    result = cli("run", "--source", prod, "--target", f"sqlite:///{tmp_path / 's.db'}", "--rules", str(RULES))
    assert result.returncode == 0
    lines = [x for x in result.stdout.splitlines() if " rows in " in x]
    assert sorted(x.split(":")[0] for x in lines) == ["addresses", "customers", "employees", "orders",
                                                      "support_tickets"]
    assert "\r" not in result.stdout + result.stderr


def test_a_terminal_sees_a_live_line_with_rate_and_time_left(pg_server, pg_url, tmp_path: Path) -> None:
    """A table of many batches on PostgreSQL (the planner's estimate gives the time left), in a real
    pseudo-terminal, as a person running it by hand sees it."""
    source = pg_server.new_database("big")
    execute(source, "CREATE TABLE big (id int PRIMARY KEY, note text NOT NULL)",
            "INSERT INTO big SELECT g, 'note number ' || g FROM generate_series(1, 600000) g", "ANALYZE big")
    rules = tmp_path / "big.yaml"
    rules.write_text("tables:\n  big:\n    columns:\n      id: keep\n      note: {strategy: hash}\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SANITIZER_")}, "SANITIZER_KEY": TEST_KEY}
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "sanitizer", "run", "--source", source, "--target", pg_url,
                             "--rules", str(rules), "--jobs", "1"], stdin=follower, stdout=follower,
                            stderr=follower, env=env, cwd=tmp_path)
    os.close(follower)
    seen = b""
    try:
        while select.select([leader], [], [], 120)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(timeout=300) == 0, seen.decode(errors="replace")[-2000:]
    finally:
        os.close(leader)
        pg_server.drop_database(source)
    text = seen.decode()
    assert "\r" in text and "rows/s" in text  # redrawn in place
    assert re.search(r"of ~[0-9,]{7} rows", text) and "s left)" in text  # the planner's estimate: time left
    assert "public.big: 600,000 rows in " in text  # and the table ends on a line of its own


def test_load_from_a_snapshot_notifies_and_logs_json_too(cli, prod, hook, tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    assert cli("run", "--source", prod, "--out", str(snap), "--rules", str(RULES)).returncode == 0
    target = f"sqlite:///{tmp_path / 'staging.db'}"
    loaded = cli("load", "--from", str(snap), "--target", target, "--notify", hook.url, "--log-format", "json")
    assert loaded.returncode == 0, loaded.stderr
    lines = [json.loads(x) for x in loaded.stdout.splitlines() + loaded.stderr.splitlines()]
    [finished] = [r for r in lines if r["event"] == "load_finished"]
    assert finished["status"] == "success" and finished["rows"] > 1000
    (snap / "tables" / "customers.parquet").write_bytes(b"damaged")
    damaged = cli("load", "--from", str(snap), "--target", target, "--notify", hook.url)
    assert damaged.returncode == 1
    first, second = (r["body"] for r in hook.received)
    assert first["event"] == "sanitizer.load" and first["status"] == "success" and first["tables"] == 5
    assert second["status"] == "findings" and "checksum does not match" in second["error"]
