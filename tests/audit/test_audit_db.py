"""The audit table in a real PostgreSQL: append, read, verify, refuse changes, name tampered records."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dbs
import pytest
import sqlalchemy as sa
from audit_helpers import as_role, execute
from sqlalchemy.pool import NullPool

from sanitizer.audit import db, log
from sanitizer.errors import ConfigError

COLUMNS = ", ".join(["time", *list(log.FIELDS)[1:], "details", "prev_hash", "hash"])


def append_four(url: str) -> list[dict]:
    return [db.append_db(url, {"command": "run", "actor": "ci", "exit_code": i, "tables": {"public.t": i * 10},
                               "duration_s": 1.25 * i, "target": {"database": "staging"}, "extra": [i, None]})
            for i in range(4)]


def ids(url: str) -> list[int]:
    return [row[0] for row in execute(url, "SELECT id FROM sanitizer_audit.events ORDER BY id")]


def tamper(url: str, *statements: str) -> None:
    """What the threat model requires of an attacker: a superuser who disables the triggers first."""
    execute(url, "ALTER TABLE sanitizer_audit.events DISABLE TRIGGER USER", *statements,
            "ALTER TABLE sanitizer_audit.events ENABLE TRIGGER USER")


def test_records_round_trip_and_verify(pg_url: str, tmp_path: Path) -> None:
    written = append_four(pg_url)
    assert db.read_db(pg_url) == written
    assert db.verify_db(pg_url) is None
    assert written[0]["db_user"] == "postgres" and written[3]["prev_hash"] == written[2]["hash"]
    # One record and hash function for both stores: the table's records verify as a file, too.
    path = tmp_path / "copy.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in written))
    assert log.verify_file(path) is None


def test_read_since_and_missing_table(pg_url: str) -> None:
    assert db.read_db(pg_url) == [] and db.verify_db(pg_url) is None
    db.append_db(pg_url, {"command": "run", "time": datetime.now(UTC) - timedelta(days=10)})
    db.append_db(pg_url, {"command": "run"})
    assert len(db.read_db(pg_url, since=datetime.now(UTC) - timedelta(days=1))) == 1


def test_append_in_a_transaction_commits_or_rolls_back_with_it(pg_url: str) -> None:
    engine = sa.create_engine(dbs.normalize_pg_url(pg_url), poolclass=NullPool)
    with engine.connect() as conn:
        with conn.begin() as tx:
            db.append_db_in(conn, {"command": "run", "exit_code": 3})
            tx.rollback()
        with conn.begin():
            sealed = db.append_db(conn, {"command": "run", "exit_code": 0})
    engine.dispose()
    assert db.read_db(pg_url) == [sealed] and sealed["prev_hash"] == log.GENESIS


def test_concurrent_writers_never_fork_the_chain(pg_url: str) -> None:
    db.append_db(pg_url, {"command": "run"})  # schema exists; the writers then race for the lock only
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            db.append_db(pg_url, {"command": "run", "exit_code": i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(db.read_db(pg_url)) == 9 and db.verify_db(pg_url) is None


@pytest.mark.parametrize("statement", [
    "UPDATE sanitizer_audit.events SET exit_code = 0",
    "DELETE FROM sanitizer_audit.events",
    "TRUNCATE sanitizer_audit.events",
])
def test_even_a_superuser_cannot_change_history_without_dropping_the_trigger(pg_url: str, statement: str) -> None:
    append_four(pg_url)
    with pytest.raises(sa.exc.ProgrammingError, match="append-only"):
        execute(pg_url, statement)
    assert db.verify_db(pg_url) is None and len(db.read_db(pg_url)) == 4


def test_inserts_that_break_the_chain_are_refused(pg_url: str) -> None:
    written = append_four(pg_url)
    base = "INSERT INTO sanitizer_audit.events (time, command, prev_hash, hash) VALUES (now(), 'forged', '{}', '{}')"
    with pytest.raises(sa.exc.DBAPIError, match="does not follow"):
        execute(pg_url, base.format("1" * 64, "2" * 64))
    with pytest.raises(sa.exc.DBAPIError):  # a fork: a second child of the same record
        execute(pg_url, base.format(written[1]["hash"], "3" * 64))


def test_owner_that_is_not_superuser_has_no_update_delete_truncate(pg_url: str, role_names) -> None:
    loader = role_names(pg_url)
    database = pg_url.rsplit("/", 1)[1]
    execute(pg_url, f'CREATE ROLE "{loader}" LOGIN', f'GRANT CREATE ON DATABASE "{database}" TO "{loader}"')
    url = as_role(pg_url, loader)
    append_four(url)
    for statement in ("UPDATE sanitizer_audit.events SET exit_code = 0", "DELETE FROM sanitizer_audit.events",
                      "TRUNCATE sanitizer_audit.events"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            execute(url, statement)
    assert db.verify_db(url) is None


def test_edited_row_is_named(pg_url: str) -> None:
    append_four(pg_url)
    second = ids(pg_url)[1]
    tamper(pg_url, f"UPDATE sanitizer_audit.events SET exit_code = 0 WHERE id = {second}")
    assert db.verify_db(pg_url) == second


def test_edited_details_are_named(pg_url: str) -> None:
    append_four(pg_url)
    third = ids(pg_url)[2]
    tamper(pg_url, f"""UPDATE sanitizer_audit.events SET details = details || '{{"extra": [9]}}' WHERE id = {third}""")
    assert db.verify_db(pg_url) == third


def test_deleted_row_is_named(pg_url: str) -> None:
    append_four(pg_url)
    rows = ids(pg_url)
    tamper(pg_url, f"DELETE FROM sanitizer_audit.events WHERE id = {rows[1]}")
    assert db.verify_db(pg_url) == rows[2]


def test_reordered_rows_are_named(pg_url: str) -> None:
    append_four(pg_url)
    a, b = ids(pg_url)[1:3]
    tamper(pg_url,
           "CREATE TEMP TABLE keep AS SELECT * FROM sanitizer_audit.events",
           f"DELETE FROM sanitizer_audit.events WHERE id IN ({a}, {b})",
           f"INSERT INTO sanitizer_audit.events (id, {COLUMNS}) OVERRIDING SYSTEM VALUE "
           f"SELECT CASE id WHEN {a} THEN {b} ELSE {a} END, {COLUMNS} FROM keep WHERE id IN ({a}, {b})")
    assert db.verify_db(pg_url) == a


def test_sqlite_target_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="need PostgreSQL"):
        db.read_db(f"sqlite:///{tmp_path / 'x.db'}")


def test_schema_is_not_readable_by_public(pg_url: str, role_names: Callable[[str], str]) -> None:
    db.append_db(pg_url, {"command": "run"})
    nobody = role_names(pg_url)
    execute(pg_url, f'CREATE ROLE "{nobody}" LOGIN')
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        execute(as_role(pg_url, nobody), "SELECT * FROM sanitizer_audit.events")
