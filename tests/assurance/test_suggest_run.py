"""`rules suggest` then `run` on the three sample databases: the draft loads, checks, runs clean, and no
original person value reaches staging (names compared per row; e-mails, phones, addresses anywhere)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import rows
from sqlalchemy.engine import make_url

from sanitizer.rules import load_rules
from sanitizer.source.reader import Source
from sanitizer.validate.leak import low_entropy

# table -> (key, columns compared in their own row, columns searched for anywhere in staging)
PEOPLE = {
    "chinook": {
        "customer": ("customer_id", ["first_name", "last_name"], ["email", "phone", "fax", "address"]),
        "employee": ("employee_id", ["first_name", "last_name"], ["email", "phone", "fax", "address"]),
    },
    "northwind": {
        "employees": ("employee_id", ["first_name", "last_name"], ["address", "home_phone"]),
        "customers": ("customer_id", ["contact_name"], ["contact_name", "phone", "fax", "address"]),
        "suppliers": ("supplier_id", ["contact_name"], ["contact_name", "phone", "fax", "address"]),
    },
    "pagila": {
        "customer": ("customer_id", ["first_name", "last_name"], ["email"]),
        "staff": ("staff_id", ["first_name", "last_name"], ["email", "username"]),
        "actor": ("actor_id", ["first_name", "last_name"], []),
        "address": ("address_id", [], ["address", "phone"]),
    },
}
FIXTURES = ["chinook", "northwind", "pagila"]


def staging_text(url: str) -> str:
    cells = []
    for (table,) in rows(url, "select tablename from pg_tables where schemaname = 'public'"):
        for row in rows(url, f'select * from "{table}"'):
            cells.extend(str(v) for v in row if v is not None)
    return "\n".join(cells).lower()


def test_suggested_rules_are_complete_and_check(cli, pg_fixture, tmp_path: Path) -> None:
    source = pg_fixture("northwind")
    out = tmp_path / "suggested.yaml"
    result = cli("rules", "suggest", "--source", source, "-o", str(out), "--no-verify")
    assert result.returncode == 0, result.stderr
    ruleset = load_rules([out])
    with Source(make_url(source)) as src:
        for info in src.schema.tables.values():
            table_rule = ruleset.table(info.qualified, src.schema.default_schema)
            assert table_rule is not None and set(table_rule.columns) == set(info.column_names), info.qualified
    text = out.read_text()
    assert "unknown_columns: fail" in text
    assert "employee_id: keep  # foreign key to public.employees.employee_id" in text  # orders.employee_id
    assert "birth_date: {strategy: date_of_birth}  # date_of_birth (tier B)" in text
    assert "notes: {strategy: scrub}" in text
    for line in text.splitlines():
        if not line.strip() or line.strip().startswith(("#", "version", "defaults", "unknown", "tables")) \
                or line.endswith(":"):
            continue
        assert "  # " in line, f"rule without a reason: {line}"
    check = cli("rules", "check", str(out), "--source", source)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("fixture", FIXTURES)
def test_suggest_then_run_leaves_no_person_value(cli, pg_fixture, pg_url, tmp_path: Path, fixture: str) -> None:
    source, staging = pg_fixture(fixture), pg_url
    out = tmp_path / "suggested.yaml"
    suggested = cli("rules", "suggest", "--source", source, "-o", str(out))
    assert suggested.returncode == 0, suggested.stderr
    check = cli("rules", "check", str(out), "--source", source)
    assert check.returncode == 0, check.stderr
    run = cli("run", "--source", source, "--target", staging, "--rules", str(out))
    assert run.returncode == 0, run.stderr + run.stdout
    assert "validation: PASS (0 findings)" in run.stdout
    text = staging_text(staging)
    for table, (key, same_row, anywhere) in PEOPLE[fixture].items():
        for column in same_row:
            before = dict(rows(source, f"select {key}, {column} from {table}"))
            after = dict(rows(staging, f"select {key}, {column} from {table}"))
            kept = [k for k, v in before.items() if v and after[k] == v]
            assert not kept, f"{fixture}.{table}.{column}: {len(kept)} rows kept their original"
        for column in anywhere:
            originals = {v for (v,) in rows(source, f"select {column} from {table}") if v}
            leaked = [v for v in originals if not low_entropy(v.lower()) and v.lower() in text]
            assert not leaked, f"{fixture}.{table}.{column}: {len(leaked)} original values found in staging"
