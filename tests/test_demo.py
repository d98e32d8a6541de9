"""`sanitizer demo`: the whole job on the embedded default, and not one original sensitive value left."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml

from sanitizer.validate.leak import low_entropy

REPO = Path(__file__).resolve().parents[1]
# Low-entropy columns (names in public dictionaries, dates): a fake may equal some other person's real
# value by chance, so for them the promise is that no row keeps its own original (docs/validation.md).
DICTIONARY_COLUMNS = {"first_name", "last_name", "birth_date"}


def sensitive_columns() -> dict[str, list[str]]:
    rules = yaml.safe_load((REPO / "rules" / "demo.yaml").read_text())
    out: dict[str, list[str]] = {}
    for table, spec in rules["tables"].items():
        for column, rule in spec["columns"].items():
            if rule != "keep":
                out.setdefault(table, []).append(column)
    return out


def all_text_cells(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        cells = []
        for table in tables:
            for row in conn.execute(f'select * from "{table}"'):
                cells.extend(str(v) for v in row if v is not None)
    return "\n".join(cells).lower()


def test_demo_builds_sanitizes_validates_and_reports(cli, tmp_path: Path) -> None:
    result = cli("demo", "--dir", str(tmp_path / "d"), key=None)
    assert result.returncode == 0, result.stderr
    d = tmp_path / "d"
    for name in ("prod.db", "staging.db", "report.md", "report.json", "audit.jsonl"):
        assert (d / name).is_file(), name
    assert "tables: 5, rows: 6,024, columns masked: 12, validation: PASS (0 findings)" in result.stdout
    assert "fixed demo key" in result.stdout
    report = json.loads((d / "report.json").read_text())
    assert report["verdict"] == "pass" and report["totals"]["rows"] == 6024
    assert all(t["rows_read"] == t["rows_written"] for t in report["tables"])

    prod, staging = sqlite3.connect(d / "prod.db"), sqlite3.connect(d / "staging.db")
    staging_text = all_text_cells(d / "staging.db")
    checked = 0
    for table, columns in sensitive_columns().items():
        assert prod.execute(f"select count(*) from {table}").fetchone() == \
            staging.execute(f"select count(*) from {table}").fetchone()
        for column in columns:
            pairs = zip(prod.execute(f"select {column} from {table} order by id"),
                        staging.execute(f"select {column} from {table} order by id"), strict=True)
            assert all(a != b for (a,), (b,) in pairs if a is not None), f"{table}.{column}: a row kept its value"
            if column in DICTIONARY_COLUMNS:
                continue
            for (value,) in prod.execute(f"select distinct {column} from {table} where {column} is not null"):
                if low_entropy(str(value).lower()):  # postal codes: the same-row check above covers them
                    continue
                checked += 1
                assert str(value).lower() not in staging_text, f"an original {table}.{column} value leaked"
    assert checked > 3000


def test_demo_twice_rebuilds_and_appends_to_the_audit_log(cli, tmp_path: Path) -> None:
    d = tmp_path / "d"
    first = cli("demo", "--dir", str(d), key=None)
    second = cli("demo", "--dir", str(d), key=None)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    records = [json.loads(line) for line in (d / "audit.jsonl").read_text().splitlines()]
    assert len(records) == 2
    assert records[1]["prev_hash"] == records[0]["hash"]
    assert records[0]["actor"] == "demo" and records[0]["verdict"] == "pass" and records[0]["exit_code"] == 0
    assert "test-key" not in (d / "audit.jsonl").read_text()
