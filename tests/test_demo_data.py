"""Tests for the demo "production" database builder and the rules that sanitize it."""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from sanitizer.demo_data import TABLES, build_prod_db

RULES = Path(__file__).resolve().parents[1] / "rules" / "demo.yaml"


def _dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, ordered by primary key."""
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """One default-size build shared by the read-only tests."""
    path = tmp_path_factory.mktemp("demo") / "prod.db"
    return path, build_prod_db(path)


@pytest.fixture
def conn(built: tuple[Path, dict[str, int]]):
    """Connection to the shared build."""
    connection = sqlite3.connect(built[0])
    yield connection
    connection.close()


def test_counts_match_and_total_is_in_the_thousands(built, conn) -> None:
    _, counts = built
    assert set(counts) == set(TABLES)
    for table, n in counts.items():
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n
    assert counts["customers"] == 1000
    assert 25 <= counts["employees"] <= 40
    assert all(n > 0 for n in counts.values())
    assert 2000 <= sum(counts.values()) <= 20000


def test_same_seed_is_identical_other_seed_differs(built, tmp_path: Path) -> None:
    again = tmp_path / "again.db"
    other = tmp_path / "other.db"
    assert build_prod_db(again) == built[1]
    build_prod_db(other, seed=7)
    assert _dump(again) == _dump(built[0])
    assert _dump(other)["customers"] != _dump(built[0])["customers"]


def test_rebuild_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "prod.db"
    path.write_bytes(b"not a database")
    first = build_prod_db(path, customers=50)
    assert build_prod_db(path, customers=50) == first
    assert first["customers"] == 50


def test_global_random_state_untouched(tmp_path: Path) -> None:
    state = random.getstate()
    build_prod_db(tmp_path / "prod.db", customers=20)
    assert random.getstate() == state


def test_foreign_keys_hold(conn) -> None:
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    declared = {t: conn.execute(f"PRAGMA foreign_key_list({t})").fetchall() for t in TABLES}
    assert {row[2] for rows in declared.values() for row in rows} == {"employees", "customers", "addresses"}
    wrong_owner = conn.execute(
        "SELECT count(*) FROM orders o JOIN addresses a ON a.id = o.shipping_address_id "
        "WHERE a.customer_id <> o.customer_id"
    ).fetchone()[0]
    assert wrong_owner == 0


def test_emails_unique(conn) -> None:
    for table in ("customers", "employees"):
        total, distinct = conn.execute(f"SELECT count(*), count(DISTINCT email) FROM {table}").fetchone()
        assert total == distinct
    with pytest.raises(sqlite3.IntegrityError):
        email = conn.execute("SELECT email FROM customers LIMIT 1").fetchone()[0]
        conn.execute(
            "INSERT INTO customers (first_name, last_name, email, created_at) VALUES ('a', 'b', ?, ?)",
            (email, "2020-01-01 00:00:00"),
        )


def test_ticket_bodies_quote_customer_pii(conn) -> None:
    rows = conn.execute(
        "SELECT t.body, c.first_name || ' ' || c.last_name, c.email, c.phone "
        "FROM support_tickets t JOIN customers c ON c.id = t.customer_id"
    ).fetchall()
    quoting = [body for body, name, email, _ in rows if email in body or name in body]
    with_phone = [body for body, _, _, phone in rows if phone and phone in body]
    assert len(quoting) >= len(rows) // 5
    assert with_phone
    assert len(quoting) < len(rows)  # mixed with plain prose


def test_employees_self_reference(conn) -> None:
    tops = conn.execute("SELECT id FROM employees WHERE manager_id IS NULL").fetchall()
    assert tops == [(1,)]
    managed = conn.execute("SELECT count(*) FROM employees WHERE manager_id IS NOT NULL").fetchone()[0]
    assert managed == conn.execute("SELECT count(*) FROM employees").fetchone()[0] - 1
    assert conn.execute("SELECT count(*) FROM employees WHERE manager_id >= id").fetchone()[0] == 0


def test_value_formats(conn) -> None:
    ssns = [r[0] for r in conn.execute("SELECT ssn FROM customers WHERE ssn IS NOT NULL")]
    assert ssns and all(re.fullmatch(r"\d{3}-\d{2}-\d{4}", s) for s in ssns)
    for birth, created in conn.execute("SELECT birth_date, created_at FROM customers"):
        assert date.fromisoformat(birth).isoformat() == birth
        assert datetime.fromisoformat(created).strftime("%Y-%m-%d %H:%M:%S") == created
    countries = {r[0] for r in conn.execute("SELECT DISTINCT country_code FROM addresses")}
    assert {"US", "DE", "FR"} <= countries
    statuses = {r[0] for r in conn.execute("SELECT DISTINCT status FROM orders")}
    assert statuses == {"new", "paid", "shipped", "cancelled"}
    assert conn.execute("SELECT count(*) FROM orders WHERE round(amount, 2) <> amount").fetchone()[0] == 0


def test_rules_name_every_column(conn) -> None:
    rules = yaml.safe_load(RULES.read_text())
    assert rules["version"] == 1
    assert rules["defaults"]["unknown_columns"] == "fail"
    assert set(rules["tables"]) == set(TABLES)
    for table in TABLES:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        assert set(rules["tables"][table]["columns"]) == columns, table


def test_rules_treat_pii_as_sensitive() -> None:
    tables = yaml.safe_load(RULES.read_text())["tables"]
    sensitive = {
        "employees": ["first_name", "last_name", "email"],
        "customers": ["first_name", "last_name", "email", "phone", "ssn", "birth_date"],
        "addresses": ["street", "postal_code"],
        "support_tickets": ["body"],
    }
    for table, columns in sensitive.items():
        for column in columns:
            assert tables[table]["columns"][column] != "keep", f"{table}.{column}"
    assert tables["customers"]["columns"]["email"]["unique"] is True
    assert tables["employees"]["columns"]["email"]["unique"] is True


def test_every_keep_has_a_reason() -> None:
    keeps = [line for line in RULES.read_text().splitlines() if re.search(r":\s*keep\b", line)]
    assert keeps
    assert all("#" in line.split("keep", 1)[1] for line in keeps)
