"""Issue 6 end to end through the real CLI: audited runs, `audit show/verify`, environment and key guard
rails, and `access grant/list/revoke` on real PostgreSQL databases."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from sanitizer.audit import db, guard, log

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "chinook.yaml"
KEY_A, KEY_B = "audit-key-A-0123456789", "audit-key-B-0123456789"


def sql(url: str, *statements: str) -> list[tuple]:
    """Run statements in autocommit as the URL's user (a superuser on the test server); the last one's rows."""
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = None
            for statement in statements:
                result = conn.exec_driver_sql(statement)
            return [tuple(r) for r in result] if result is not None and result.returns_rows else []
    finally:
        engine.dispose()


@pytest.fixture
def run_into(cli, pg_fixture, tmp_path: Path) -> Callable[..., object]:
    """run_into(target, *extra, key=..., audit=path) -> the CLI result of a chinook run into `target`."""
    source = pg_fixture("chinook")

    def go(target: str, *extra: str, key: str = KEY_A, audit: Path | None = None, rules: Path = RULES):
        return cli("run", "--source", source, "--target", target, "--rules", str(rules),
                   "--audit-file", str(audit or tmp_path / "audit.jsonl"), *extra, key=key)

    return go


@pytest.fixture
def roles(pg_server) -> Iterator[Callable[[], str]]:
    """Factory of unique role names; whatever is left of them is dropped after the test (roles are global)."""
    made: list[str] = []

    def make() -> str:
        made.append(f"t_{uuid.uuid4().hex[:12]}")
        return made[-1]

    yield make
    for name in made:
        with contextlib.suppress(Exception):
            sql(pg_server.url, f'DROP ROLE IF EXISTS "{name}"')


def test_run_writes_one_chained_record_to_the_target_and_the_file(run_into, pg_url, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    dry = run_into(pg_url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert db.read_db(pg_url) == []  # a dry run writes only the file record
    for _ in range(2):
        result = run_into(pg_url)
        assert result.returncode == 0, result.stderr
        assert "audit: recorded in sanitizer_audit.events (environment staging" in result.stdout

    records = db.read_db(pg_url)
    assert [r["command"] for r in records] == ["environment mark", "run", "run"]
    assert log.verify_records(records) is None
    assert [r["prev_hash"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    run_record = records[1]
    assert run_record["exit_code"] == 0 and run_record["verdict"] == "pass"
    assert run_record["environment"] == "staging" and run_record["forced"] is False
    assert run_record["tables"]["public.customer"] == 59 and run_record["db_user"] == "postgres"

    lines = log.read_file(audit)
    assert log.verify_file(audit) is None
    assert [(r["dry_run"], r["exit_code"]) for r in lines] == [(True, 0), (False, 0), (False, 0)]
    assert lines[0]["target_audit_hash"] is None
    assert [r["target_audit_hash"] for r in lines[1:]] == [r["hash"] for r in records[1:]]
    assert all(r["environment"] == "staging" and r["key_fingerprint"] == run_record["key_fingerprint"]
               for r in lines)
    assert sql(pg_url, "SELECT name FROM sanitizer_audit.environment") == [("staging",)]
    assert sql(pg_url, "SELECT fingerprint, environment FROM sanitizer_audit.key_fingerprints") == [
        (run_record["key_fingerprint"], "staging")]


def test_audit_verify_passes_then_names_the_tampered_record(cli, run_into, pg_url, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    assert run_into(pg_url).returncode == 0
    ok = cli("audit", "verify", "--target", pg_url)
    assert ok.returncode == 0, ok.stderr
    [line] = ok.stdout.splitlines()
    assert line.startswith("ok: 2 records, hash chain intact (head ")
    shown = cli("audit", "show", "--target", pg_url, "--since", "1d")
    assert shown.returncode == 0 and "environment mark" in shown.stdout and " run " in shown.stdout
    as_json = json.loads(cli("audit", "show", "--target", pg_url, "--format", "json").stdout)
    assert [r["command"] for r in as_json] == ["environment mark", "run"]
    assert cli("audit", "show", "--target", pg_url, "--since", "2999-01-01").stdout.startswith("no audit records")
    from_file = cli("audit", "show", "--file", str(audit), "--format", "json")
    assert [r["command"] for r in json.loads(from_file.stdout)] == ["run"]
    assert cli("audit", "verify", "--file", str(audit)).stdout.startswith("ok: 1 records")

    # a superuser can edit history only by switching the triggers off; verify names the record
    [(run_id,)] = sql(pg_url, "SELECT id FROM sanitizer_audit.events WHERE command = 'run'")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        sql(pg_url, "UPDATE sanitizer_audit.events SET actor = 'mallory'")
    sql(pg_url, "ALTER TABLE sanitizer_audit.events DISABLE TRIGGER USER",
        f"UPDATE sanitizer_audit.events SET findings = 0, actor = 'mallory' WHERE id = {run_id}")
    broken = cli("audit", "verify", "--target", pg_url)
    assert broken.returncode == 1, broken.stderr
    assert f"record id {run_id}: the hash chain breaks here" in broken.stderr
    assert broken.stdout == ""

    text = audit.read_text().replace('"exit_code": 0', '"exit_code": 1')
    audit.write_text(text)
    bad_file = cli("audit", "verify", "--file", str(audit))
    assert bad_file.returncode == 1 and f"{audit} line 1: the hash chain breaks here" in bad_file.stderr


def test_failed_run_is_audited_and_staging_stays_as_it_was(run_into, pg_url, tmp_path: Path) -> None:
    assert run_into(pg_url).returncode == 0
    before = sql(pg_url, "SELECT * FROM customer ORDER BY customer_id")
    leaky = tmp_path / "leaky.yaml"
    leaky.write_text(RULES.read_text().replace(
        "billing_address: {strategy: fake, kind: street_address}", "billing_address: keep"))
    result = run_into(pg_url, rules=leaky)
    assert result.returncode == 1
    assert "original_value_in_output: public.invoice.billing_address" in result.stderr
    assert sql(pg_url, "SELECT * FROM customer ORDER BY customer_id") == before

    *_, last = db.read_db(pg_url)
    assert (last["command"], last["exit_code"], last["verdict"]) == ("run", 1, "fail")
    assert last["findings"] >= 1 and "validation failed" in last["error"]
    file_last = log.read_file(tmp_path / "audit.jsonl")[-1]
    assert file_last["exit_code"] == 1 and file_last["target_audit_hash"] == last["hash"]
    assert db.verify_db(pg_url) is None


def test_failed_run_is_recorded_in_the_target_or_warns_but_keeps_its_own_error(
        cli, pg_fixture, pg_url, pg_server, roles, tmp_path: Path) -> None:
    missing = make_url(pg_fixture("chinook")).set(database="no_such_database").render_as_string(False)
    result = cli("run", "--source", missing, "--target", pg_url, "--rules", str(RULES),
                 "--audit-file", str(tmp_path / "a.jsonl"))
    assert result.returncode == 3 and "cannot connect to source" in result.stderr
    # an unreachable source cannot be told apart from the target (sanitizer/sameness.py), so the target is
    # not written at all, not even with the failure's record: that goes to the local file alone
    assert db.read_db(pg_url) == []
    [local] = log.read_file(tmp_path / "a.jsonl")
    assert (local["exit_code"], local["environment"], local["target_audit_hash"]) == (3, "staging", None)

    # a role that may read a blank target but not create anything: the load fails, and so does its record
    reader, blank = roles(), pg_server.new_database("ro")
    try:
        sql(blank, f'CREATE ROLE "{reader}" LOGIN')
        fresh = cli("run", "--source", pg_fixture("chinook"), "--target",
                    make_url(blank).set(username=reader).render_as_string(False), "--rules", str(RULES),
                    "--audit-file", str(tmp_path / "b.jsonl"))
        assert fresh.returncode == 3, fresh.stderr
        assert "warning: the failed run's audit record could not be written to the target" in fresh.stderr
        last = fresh.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and "audit" not in last  # the run's own error, not the record's
        [file_record] = log.read_file(tmp_path / "b.jsonl")
        assert file_record["exit_code"] == 3 and file_record["target_audit_hash"] is None
        assert db.read_db(blank) == []
    finally:
        pg_server.drop_database(blank)


def test_production_marker_is_refused_even_with_force(run_into, pg_url, tmp_path: Path) -> None:
    guard.mark_environment(pg_url, "production")
    for extra in ([], ["--force"], ["--dry-run"]):
        result = run_into(pg_url, *extra)
        assert result.returncode == 2, result.stderr
        assert "marked as environment 'production'; sanitizer never writes there" in result.stderr
    as_production = run_into(pg_url, "--environment", "production")
    assert as_production.returncode == 2 and "never production" in as_production.stderr
    assert [r["command"] for r in db.read_db(pg_url)] == ["environment mark"]
    assert sql(pg_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
    assert not (tmp_path / "audit.jsonl").exists()


def test_unmarked_database_with_tables_needs_force_once(run_into, pg_url, tmp_path: Path) -> None:
    sql(pg_url, "CREATE TABLE notes (id int)")
    refused = run_into(pg_url)
    assert refused.returncode == 2 and "1 tables but no sanitizer marker" in refused.stderr
    forced = run_into(pg_url, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "warning: --force: loading a database with 1 tables and no marker" in forced.stderr
    assert run_into(pg_url).returncode == 0  # marked now: no --force needed
    assert [r["forced"] for r in log.read_file(tmp_path / "audit.jsonl")] == [True, False]
    assert [r.get("forced") for r in db.read_db(pg_url) if r["command"] == "run"] == [True, False]
    other = run_into(pg_url, "--environment", "qa")
    assert other.returncode == 2 and "marked as environment 'staging'" in other.stderr


def test_key_used_for_another_environment_is_refused_unless_allowed(run_into, pg_url, pg_server,
                                                                    tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    qa = pg_server.new_database("qa")
    try:
        assert run_into(qa, "--environment", "qa", key=KEY_A).returncode == 0
        refused = run_into(pg_url, key=KEY_A)  # the local audit file knows KEY_A from qa
        assert refused.returncode == 2
        assert "already used for environment(s) qa" in refused.stderr and "--allow-key-reuse" in refused.stderr
        assert db.read_db(pg_url) == []
        allowed = run_into(pg_url, "--allow-key-reuse", key=KEY_A)
        assert allowed.returncode == 0, allowed.stderr
        assert "is also used for qa (--allow-key-reuse; audited)" in allowed.stderr
        records = db.read_db(pg_url)
        assert [r["command"] for r in records] == ["environment mark", "key reuse", "run"]
        assert records[1]["other_environments"] == ["qa"] and records[2]["key_reused_with"] == ["qa"]
        # the target's own fingerprint table refuses too, with a fresh local file
        fresh = run_into(qa, "--environment", "staging", "--force", key=KEY_A, audit=tmp_path / "other.jsonl")
        assert fresh.returncode == 2 and "already used for environment(s) qa" in fresh.stderr
        assert run_into(pg_url, key=KEY_B).returncode == 0
    finally:
        pg_server.drop_database(qa)
    assert log.verify_file(audit) is None


def test_access_grant_list_revoke_and_no_secret_anywhere(cli, run_into, pg_fixture, pg_url, roles,
                                                         tmp_path: Path) -> None:
    url_password, key = "pw-Url-Secret-77", "key-Very-Secret-0123456789"
    target = make_url(pg_url).set(password=url_password).render_as_string(hide_password=False)
    audit = tmp_path / "audit.jsonl"
    outputs: list[str] = []

    def call(*args: str, code: int = 0):
        result = cli(*args, key=key)
        assert result.returncode == code, result.stderr
        outputs.extend([result.stdout, result.stderr])
        return result

    call("run", "--source", pg_fixture("chinook"), "--target", target, "--rules", str(RULES),
         "--audit-file", str(audit))
    alice, bi = roles(), roles()
    granted = call("access", "grant", alice, "--target", target, "--expires", "7d", "--actor", "ops",
                   "--audit-file", str(audit))
    [password] = re.findall(r"^password: (\S+)$", granted.stdout, flags=re.M)
    assert len(password) >= 24 and granted.stdout.count(password) == 1
    assert granted.stdout.startswith(f"created role {alice}: read-only on all tables, until ")
    assert "shown only this once" in granted.stderr
    again = call("access", "grant", alice, "--target", target, "--expires", "1d", "--actor", "renewer",
                 "--audit-file", str(audit))
    assert "password" not in again.stdout and again.stdout.startswith(f"updated role {alice}")
    call("access", "grant", bi, "--target", target, "--tables", "customer", "--tables", "public.invoice",
         "--audit-file", str(audit))
    call("access", "grant", "pg_bad", "--target", target, code=2)

    # the role reads staging and cannot write it; a refresh keeps a --tables grant working
    as_bi = make_url(pg_url).set(username=bi).render_as_string(False)
    call("run", "--source", pg_fixture("chinook"), "--target", target, "--rules", str(RULES),
         "--audit-file", str(audit))
    assert sql(as_bi, "SELECT count(*) FROM customer") == [(59,)]
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        sql(as_bi, "SELECT count(*) FROM track")
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        sql(make_url(pg_url).set(username=alice).render_as_string(False), "DELETE FROM customer")

    listed = call("access", "list", "--target", target)
    assert listed.stdout.splitlines()[0].split() == ["role", "since", "granted_by", "until", "scope", "state"]
    line = next(row for row in listed.stdout.splitlines() if row.startswith(alice))
    assert "renewer" in line and line.endswith("active")  # granted_by: the latest grant's actor
    rows = json.loads(call("access", "list", "--target", target, "--format", "json").stdout)
    assert {r["role"]: r["scope"] for r in rows} == {alice: "all", bi: ["public.customer", "public.invoice"]}

    revoked = call("access", "revoke", alice, "--target", target, "--audit-file", str(audit))
    assert revoked.stdout.strip() == f"revoked {alice}: privileges removed, role dropped"
    assert [r["role"] for r in json.loads(call("access", "list", "--target", target, "--format", "json").stdout)] \
        == [bi]
    call("access", "revoke", alice, "--target", target, code=2)
    call("access", "revoke", bi, "--target", target, "--audit-file", str(audit))
    assert call("access", "list", "--target", target).stdout.strip() == "no access granted"

    call("audit", "show", "--target", target)
    call("audit", "show", "--target", target, "--format", "json")
    verified = call("audit", "verify", "--target", target)
    assert verified.stdout.startswith("ok: 8 records")  # mark, run, 3 grants, run, 2 revokes
    call("audit", "verify", "--file", str(audit))

    records = db.read_db(pg_url)
    file_records = log.read_file(audit)
    commands = [r["command"] for r in file_records]
    assert commands == ["run", "access grant", "access grant", "access grant", "run", "access revoke",
                        "access revoke"]
    assert [r["command"] for r in records].count("access grant") == 3
    assert next(r for r in records if r["command"] == "access grant")["actor"] == "ops"
    stored = [json.dumps(records), audit.read_text()]
    for text in stored:
        assert password not in text
    for text in outputs + stored:
        assert url_password not in text
        assert key not in text
    assert sum(text.count(password) for text in outputs) == 1


def test_audit_and_access_commands_refuse_bad_arguments(cli, pg_url, tmp_path: Path) -> None:
    sqlite = cli("audit", "show", "--target", f"sqlite:///{tmp_path / 'x.db'}")
    assert sqlite.returncode == 2 and "need PostgreSQL" in sqlite.stderr
    both = cli("audit", "verify", "--target", pg_url, "--file", str(tmp_path / "a.jsonl"))
    assert both.returncode == 2
    missing = cli("audit", "verify", "--file", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    empty = cli("audit", "verify", "--target", pg_url)
    assert empty.returncode == 0 and empty.stdout.startswith("ok: 0 records")
    bad_since = cli("audit", "show", "--target", pg_url, "--since", "last week")
    assert bad_since.returncode == 2 and "--since 'last week'" in bad_since.stderr
    bad_expiry = cli("access", "grant", "someone", "--target", pg_url, "--expires", "soon")
    assert bad_expiry.returncode == 2 and "--expires 'soon'" in bad_expiry.stderr
    no_target = cli("access", "list")
    assert no_target.returncode == 2 and "no target" in no_target.stderr
    bad_env = cli("run", "--source", "sqlite:///x.db", "--target", pg_url, "--rules", str(RULES),
                  "--environment", "Prod!")
    assert bad_env.returncode == 2 and "--environment 'Prod!'" in bad_env.stderr
