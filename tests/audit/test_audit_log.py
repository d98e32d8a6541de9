"""The local JSONL audit file and the record/hash functions it shares with the database table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sanitizer.audit import log
from sanitizer.audit.render import format_records, parse_duration, parse_since
from sanitizer.errors import ConfigError


def write_three(path: Path) -> list[dict]:
    return [log.append(path, {"command": "run", "actor": "ci", "exit_code": i, "tables": {"a": i}})
            for i in range(3)]


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_appended_records_chain_and_verify(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    written = write_three(path)
    assert log.verify_file(path) is None
    assert log.read_file(path) == written
    assert written[0]["prev_hash"] == log.GENESIS and written[1]["prev_hash"] == written[0]["hash"]
    assert set(log.FIELDS) <= set(written[0])  # every standard field present, so file and table agree
    assert written[0]["time"].endswith("Z") and written[0]["host"]


def test_edited_record_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_three(path)
    rows = lines(path)
    record = json.loads(rows[1])
    record["exit_code"] = 0 if record["exit_code"] else 3
    rows[1] = json.dumps(record, sort_keys=True)
    path.write_text("\n".join(rows) + "\n")
    assert log.verify_file(path) == 2


def test_deleted_record_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_three(path)
    rows = lines(path)
    path.write_text("\n".join([rows[0], rows[2]]) + "\n")
    assert log.verify_file(path) == 2


def test_reordered_records_are_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_three(path)
    rows = lines(path)
    path.write_text("\n".join([rows[0], rows[2], rows[1]]) + "\n")
    assert log.verify_file(path) == 2


def test_rehashed_edit_is_still_caught_by_the_next_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_three(path)
    rows = lines(path)
    record = json.loads(rows[0])
    record["actor"] = "someone-else"
    record["hash"] = log.record_hash(record)
    rows[0] = json.dumps(record, sort_keys=True)
    path.write_text("\n".join(rows) + "\n")
    assert log.verify_file(path) == 2


def test_a_line_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_three(path)
    rows = lines(path)
    rows[2] = rows[2][:-5]
    path.write_text("\n".join(rows) + "\n")
    assert log.verify_file(path) == 3


def test_records_of_the_first_version_still_verify(tmp_path: Path) -> None:
    """Files written before the refactor hashed the record as given; verification must accept them."""
    path = tmp_path / "old.jsonl"
    first = {"command": "run", "actor": "ci", "time": "2024-05-01T10:00:00+00:00", "prev_hash": log.GENESIS}
    first["hash"] = log.record_hash(first)
    second = {"command": "run", "exit_code": 0, "prev_hash": first["hash"]}
    second["hash"] = log.record_hash(second)
    path.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    assert log.verify_file(path) is None
    assert log.append(path, {"command": "run"})["prev_hash"] == second["hash"]
    assert log.verify_file(path) is None


def test_normalize_gives_one_canonical_form() -> None:
    a = log.seal({"command": "run", "time": "2024-05-01T12:00:00+02:00", "duration_s": 2, "exit_code": "0",
                  "actor": "x", "host": "h"}, log.GENESIS)
    b = log.seal({"command": "run", "time": datetime(2024, 5, 1, 10, tzinfo=UTC), "duration_s": 2.0,
                  "exit_code": 0, "actor": "x", "host": "h"}, log.GENESIS)
    assert a == b and a["time"] == "2024-05-01T10:00:00.000000Z"
    with pytest.raises(ValueError):
        log.seal({"command": "run", "duration_s": float("nan")}, log.GENESIS)


def test_durations_and_since() -> None:
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("12h") == timedelta(hours=12)
    with pytest.raises(ConfigError):
        parse_duration("7 days")
    now = datetime(2024, 5, 8, tzinfo=UTC)
    assert parse_since("7d", now=now) == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_since("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(ConfigError):
        parse_since("last tuesday")


def test_format_records(tmp_path: Path) -> None:
    written = write_three(tmp_path / "a.jsonl")
    table = format_records(written)
    assert table.splitlines()[0].split() == ["time", "actor", "command", "target", "what", "exit_code", "hash"]
    assert written[2]["hash"][:12] in table
    assert json.loads(format_records(written, "json")) == written
