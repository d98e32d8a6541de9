"""Environment markers and key-reuse checks on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_helpers import execute

from sanitizer.audit import db, guard, log
from sanitizer.errors import ConfigError

FP_A, FP_B = "0123456789abcdef", "fedcba9876543210"


def test_blank_database_is_allowed_then_marked(pg_url: str) -> None:
    assert guard.check_target_allowed(pg_url, "staging") == {"environment": None, "user_tables": 0,
                                                               "forced": False}
    assert guard.mark_environment(pg_url, "staging", actor="ops") is None
    assert guard.mark_environment(pg_url, "staging") == "staging"  # unchanged: no second record
    assert guard.check_target_allowed(pg_url, "staging")["environment"] == "staging"
    [record] = db.read_db(pg_url)
    assert record["command"] == "environment mark" and record["environment"] == "staging"


def test_production_marker_is_always_refused(pg_url: str) -> None:
    guard.mark_environment(pg_url, "production")
    for force in (False, True):
        with pytest.raises(ConfigError, match="marked as environment 'production'"):
            guard.check_target_allowed(pg_url, "staging", force=force)


@pytest.mark.parametrize("marker", ["prod", "Live", "PRD "])
def test_a_hand_written_production_marker_is_always_refused(pg_url: str, marker: str) -> None:
    execute(pg_url, "CREATE SCHEMA sanitizer_audit",
            "CREATE TABLE sanitizer_audit.environment (singleton boolean PRIMARY KEY DEFAULT true, name text NOT NULL,"
            " marked_at timestamptz NOT NULL DEFAULT now())",
            f"INSERT INTO sanitizer_audit.environment (name) VALUES ('{marker}')")
    for force in (False, True):
        with pytest.raises(ConfigError, match="sanitizer never writes there"):
            guard.check_target_allowed(pg_url, "staging", force=force)
    for name in ("prod", "live"):
        with pytest.raises(ConfigError, match="never production"):
            guard.check_target_allowed(pg_url, name, force=True)


def test_loading_as_production_is_refused(pg_url: str) -> None:
    with pytest.raises(ConfigError, match="never production"):
        guard.check_target_allowed(pg_url, "production", force=True)


def test_other_environment_needs_force(pg_url: str) -> None:
    guard.mark_environment(pg_url, "qa")
    with pytest.raises(ConfigError, match="marked as environment 'qa'"):
        guard.check_target_allowed(pg_url, "staging")
    assert guard.check_target_allowed(pg_url, "staging", force=True)["forced"] is True


def test_unmarked_database_with_tables_needs_force(pg_url: str) -> None:
    execute(pg_url, "CREATE TABLE customers (id int)", "CREATE SCHEMA s", "CREATE TABLE s.t (id int)")
    with pytest.raises(ConfigError, match="2 tables but no sanitizer marker"):
        guard.check_target_allowed(pg_url, "staging")
    assert guard.check_target_allowed(pg_url, "staging", force=True) == {"environment": None, "user_tables": 2,
                                                                          "forced": True}


def test_bad_environment_names(pg_url: str) -> None:
    with pytest.raises(ConfigError, match="--environment"):
        guard.check_target_allowed(pg_url, "Staging; drop")


def test_key_recorded_for_another_environment_is_refused_unless_allowed(pg_url: str) -> None:
    engine = db.engine_for(pg_url)
    with engine.begin() as conn:
        guard.record_key_fingerprint(conn, "qa", FP_A)
        guard.record_key_fingerprint(conn, "staging", FP_B)
        guard.record_key_fingerprint(conn, "staging", FP_B)
    engine.dispose()
    assert guard.check_key_reuse(pg_url, "staging", FP_B) == []
    with pytest.raises(ConfigError, match="already used for environment\\(s\\) qa"):
        guard.check_key_reuse(pg_url, "staging", FP_A)
    assert db.read_db(pg_url) == []
    assert guard.check_key_reuse(pg_url, "staging", FP_A, allow_key_reuse=True, actor="ops") == ["qa"]
    [record] = db.read_db(pg_url)
    assert record["command"] == "key reuse" and record["other_environments"] == ["qa"]
    assert record["key_fingerprint"] == FP_A and record["actor"] == "ops"


def test_key_reuse_seen_in_the_local_audit_file(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log.append(path, {"command": "run", "environment": "demo", "key_fingerprint": FP_A})
    log.append(path, {"command": "run", "key_fingerprint": FP_B})  # old records name no environment
    known = guard.fingerprints_in_file(path)
    assert known == {("demo", FP_A)}
    with pytest.raises(ConfigError, match="demo"):
        guard.check_key_reuse(pg_url, "staging", FP_A, known=known)
    assert guard.check_key_reuse(pg_url, "demo", FP_A, known=known) == []
