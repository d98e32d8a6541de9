"""`schema snapshot` and `schema diff` on real Chinook: statistics without values, drift after ALTER TABLE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import execute, rows

from sanitizer.errors import ConfigError
from sanitizer.schema.snapshot import load_schema


@pytest.fixture
def chinook_snapshot(cli, pg_fixture, tmp_path: Path) -> tuple[str, Path]:
    url = pg_fixture("chinook")
    out = tmp_path / "schema.json"
    result = cli("schema", "snapshot", "--source", url, "-o", str(out))
    assert result.returncode == 0, result.stderr
    return url, out


def test_snapshot_holds_structure_and_statistics_but_no_text_value(chinook_snapshot) -> None:
    url, out = chinook_snapshot
    text = out.read_text()
    doc = json.loads(text)
    assert doc["format"] == "sanitizer-schema-snapshot" and doc["version"] == 1
    tables = {t["name"]: t for t in doc["tables"]}
    customer = tables["public.customer"]
    assert customer["rows"] == 59 and customer["primary_key"] == ["customer_id"]
    assert {"columns": ["support_rep_id"], "referred_table": "public.employee",
            "referred_columns": ["employee_id"]} in customer["foreign_keys"]
    cols = {c["name"]: c for c in customer["columns"]}
    assert cols["customer_id"]["stats"] == {"distinct": 59, "min": 1, "max": 59, "null_fraction": 0.0}
    assert cols["email"]["stats"].keys() == {"distinct", "null_fraction"}  # text: never a min or max
    assert 0 < cols["company"]["stats"]["null_fraction"] < 1
    birth = {c["name"]: c for c in tables["public.employee"]["columns"]}["birth_date"]
    assert "min" not in birth["stats"] and "date_of_birth" in birth["range_withheld"]
    # no customer's or employee's name, e-mail, phone or address anywhere in the file
    people = rows(url, "select first_name, last_name, email, phone, address from customer union all "
                       "select first_name, last_name, email, phone, address from employee")
    lowered = text.lower()
    for person in people:
        for value in person:
            if value and len(value) >= 4:
                assert value.lower() not in lowered


def test_load_schema_reads_the_snapshot_back(chinook_snapshot) -> None:
    _, out = chinook_snapshot
    schema = load_schema(out)
    customer = schema.find("customer")
    assert customer is not None and customer.column("email").max_length == 60
    assert customer.column("customer_id").primary_key and str(customer.column("customer_id").arrow_type) == "int64"
    assert str(schema.find("invoice").column("total").arrow_type) == "decimal128(10, 2)"


def test_load_schema_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(ConfigError, match="not a schema snapshot"):
        load_schema(bad)
    bad.write_text('{"format": "sanitizer-schema-snapshot", "version": 99}')
    with pytest.raises(ConfigError, match="version 99"):
        load_schema(bad)


def test_diff_is_clean_then_reports_added_removed_and_changed_columns(cli, chinook_snapshot) -> None:
    url, out = chinook_snapshot
    clean = cli("schema", "diff", "--source", url, "--against", str(out))
    assert clean.returncode == 0, clean.stderr
    assert "no drift" in clean.stdout
    execute(url, "ALTER TABLE customer ADD COLUMN loyalty_card text",
            "ALTER TABLE customer DROP COLUMN fax",
            "ALTER TABLE employee ALTER COLUMN title TYPE varchar(60)",
            "ALTER TABLE employee ALTER COLUMN city SET NOT NULL",
            "CREATE TABLE coupon (code text primary key)")
    drift = cli("schema", "diff", "--source", url, "--against", str(out))
    assert drift.returncode == 1, drift.stderr
    assert "+ column  public.customer.loyalty_card" in drift.stdout
    assert "- column  public.customer.fax" in drift.stdout
    assert "~ column  public.employee.title: type VARCHAR(30) -> VARCHAR(60)" in drift.stdout
    assert "~ column  public.employee.city: nullable True -> False" in drift.stdout
    assert "+ table   public.coupon" in drift.stdout
    as_json = json.loads(cli("schema", "diff", "--source", url, "--against", str(out), "--format", "json").stdout)
    assert as_json["drift"] is True and as_json["added_columns"] == ["public.customer.loyalty_card"]
    assert as_json["removed_columns"] == ["public.customer.fax"]
    changed = {c["column"]: c["changes"] for c in as_json["changed_columns"]}
    assert changed["public.employee.title"] == {"type": ["VARCHAR(30)", "VARCHAR(60)"]}


def test_diff_needs_a_readable_snapshot(cli, pg_fixture, tmp_path: Path) -> None:
    result = cli("schema", "diff", "--source", pg_fixture("chinook"), "--against", str(tmp_path / "missing.json"))
    assert result.returncode == 2 and "cannot read the schema snapshot" in result.stderr
