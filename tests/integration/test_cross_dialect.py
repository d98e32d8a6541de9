"""Other sources: MySQL/MariaDB and SQLite into PostgreSQL staging, PostgreSQL into SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dbs import query_rows as rows

REPO = Path(__file__).resolve().parents[2]
PASCAL = REPO / "rules" / "chinook-pascal.yaml"  # the MySQL and SQLite editions' names




def quoted(url: str, sql: str) -> str:
    """Write identifiers as [Name] in the test; quote them the way the URL's database wants."""
    mark = "`" if url.startswith("mysql") else '"'
    return sql.replace("[", mark).replace("]", mark)


def q_rows(url: str, sql: str) -> list[tuple]:
    return rows(url, quoted(url, sql))


def check_masked_chinook(source: str, staging: str) -> None:
    """Same rows, people masked per row, keys still joining (PascalCase names, as these editions have)."""
    for table in ("Customer", "Invoice", "InvoiceLine", "Track"):
        assert q_rows(staging, f"select count(*) from [{table}]") == q_rows(source, f"select count(*) from [{table}]")
    sql = "select [CustomerId], [Email], [Address] from [Customer] order by 1"
    before, after = q_rows(source, sql), q_rows(staging, sql)
    assert [r[0] for r in before] == [r[0] for r in after]
    assert all(b[1] != a[1] and b[2] != a[2] for b, a in zip(before, after, strict=True))
    total = "select sum([Total]) from [Invoice]"  # SQLite sums NUMERIC as a float
    assert round(float(q_rows(staging, total)[0][0]), 2) == round(float(q_rows(source, total)[0][0]), 2)


def test_mysql_to_postgres(cli, mysql_fixture, pg_url) -> None:
    source = mysql_fixture("chinook")
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(PASCAL))
    assert result.returncode == 0, result.stderr
    check_masked_chinook(source, pg_url)
    assert rows(pg_url, "select count(*) from pg_constraint where conrelid = '\"Customer\"'::regclass "
                        "and contype in ('p', 'f')") == [(2,)]
    types = rows(pg_url, "select data_type from information_schema.columns where table_name = 'Invoice' "
                         "and column_name in ('Total', 'InvoiceDate') order by column_name")
    assert types == [("timestamp without time zone",), ("numeric",)]


def test_sqlite_to_postgres(cli, sqlite_chinook, pg_url) -> None:
    result = cli("run", "--source", sqlite_chinook, "--target", pg_url, "--rules", str(PASCAL))
    assert result.returncode == 0, result.stderr
    check_masked_chinook(sqlite_chinook, pg_url)


def test_postgres_to_sqlite(cli, pg_fixture, tmp_path: Path) -> None:
    source, staging = pg_fixture("chinook"), f"sqlite:///{tmp_path / 'staging.db'}"
    result = cli("run", "--source", source, "--target", staging, "--rules", str(REPO / "rules" / "chinook.yaml"))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        assert conn.execute("select count(*) from invoice_line").fetchone() == (2240,)
        assert conn.execute("pragma foreign_key_check").fetchall() == []
        total = conn.execute("select sum(total) from invoice").fetchone()[0]
    assert round(float(total), 2) == float(rows(source, "select sum(total) from invoice")[0][0])
