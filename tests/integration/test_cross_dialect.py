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


def test_postgres_time_and_bytea_reach_sqlite_and_parquet_as_values(cli, pg_url, tmp_path: Path) -> None:
    """COPY prints time as '12:34:56.5' and bytea as '\\x00ff': other targets get times and bytes, not that text;
    a time with a zone (no Arrow type holds its offset) travels as PostgreSQL's text."""
    import datetime

    import pyarrow.parquet as pq
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE shift (id int PRIMARY KEY, starts time, ends timetz, badge bytea, "
                             "holder text)")
        conn.exec_driver_sql("INSERT INTO shift VALUES (1, '08:30:00', '17:00:00+02', '\\x00ff5c0a'::bytea, 'Ann'), "
                             "(2, '23:59:59.25', NULL, '', 'Bo'), (3, NULL, '09:00:00-05:30', NULL, 'Cy')")
    engine.dispose()
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\ntables:\n  shift:\n    columns:\n      id: keep\n      starts: keep\n"
                     "      ends: keep\n      badge: keep\n      holder: {strategy: fake, kind: first_name}\n")
    staging = tmp_path / "staging.db"
    result = cli("run", "--source", pg_url, "--target", f"sqlite:///{staging}", "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(staging) as db:
        got = db.execute("SELECT id, starts, ends, badge FROM shift ORDER BY id").fetchall()
    assert got == [(1, "08:30:00.000000", "17:00:00+02", b"\x00\xff\\\n"), (2, "23:59:59.250000", None, b""),
                   (3, None, "09:00:00-05:30", None)]
    out = tmp_path / "snap"
    result = cli("run", "--source", pg_url, "--out", str(out), "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out / "tables" / "public.shift.parquet")
    assert table.column("starts").to_pylist() == [datetime.time(8, 30), datetime.time(23, 59, 59, 250000), None]
    assert table.column("badge").to_pylist() == [b"\x00\xff\\\n", b"", None]
    assert table.column("ends").to_pylist() == ["17:00:00+02", None, "09:00:00-05:30"]


def test_mysql_binary_columns_of_every_kind_carry_bytes(cli, mysql_url, pg_url, tmp_path: Path) -> None:
    """VARBINARY, BINARY and the BLOB family hold bytes that are not text (here: not UTF-8 at all)."""
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(mysql_url)
    raw = b"\xff\x00\xfe'\\\n"
    with pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                         database=url.database, autocommit=True) as db, db.cursor() as cur:
        cur.execute("CREATE TABLE blobs (id INT PRIMARY KEY, vb VARBINARY(16), fb BINARY(6), tb TINYBLOB, "
                    "mb MEDIUMBLOB, lb LONGBLOB, owner VARCHAR(40))")
        cur.execute("INSERT INTO blobs VALUES (1, %s, %s, %s, %s, %s, 'Ann Lee'), (2, NULL, NULL, NULL, NULL, NULL, "
                    "'Bo Chan')", (raw, raw, raw, raw, raw))
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\ntables:\n  blobs:\n    columns:\n      id: keep\n      vb: keep\n      fb: keep\n"
                     "      tb: keep\n      mb: keep\n      lb: keep\n      owner: {strategy: fake, kind: name}\n")
    result = cli("run", "--source", mysql_url, "--target", pg_url, "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    got = rows(pg_url, "SELECT vb, fb, tb, mb, lb FROM blobs ORDER BY id")
    assert [tuple(bytes(v) if v is not None else None for v in row) for row in got] == \
        [(raw, raw, raw, raw, raw), (None, None, None, None, None)]
