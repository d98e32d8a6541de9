"""MySQL/MariaDB staging on the real server: the source's schema, masked rows, one atomic swap, and
staging exactly as it was when a run fails, is refused or is killed."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from datetime import UTC, date, datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pymysql
import pytest
import sqlalchemy as sa
import yaml
from cli_process import end_group, start_run
from dbs import query_rows as rows
from rules_files import keep_all_rules
from sqlalchemy.engine import make_url

from sanitizer.errors import Busy, LoadError
from sanitizer.load.mysql_target import (
    MySQLTarget,
    insert_statements,
    lock_name,
    reason,
    shadow_database,
)
from sanitizer.schema.reflect import table_info
from sanitizer.source.reader import MYSQL_DDL, Source, ddl_provider
from sanitizer.urls import parse, same_database

REPO = Path(__file__).resolve().parents[2]
PASCAL = REPO / "rules" / "chinook-pascal.yaml"
KEY = "mysql-target-test-key-0123456789"
BIG_ROWS = 600_000
NO_ACTION = (" ON DELETE NO ACTION", " ON UPDATE NO ACTION")  # the default, which SQLAlchemy does not repeat


# -- helpers ----------------------------------------------------------------------------------

def database(url: str) -> str:
    return make_url(url).database or ""


def connect(url: str, **kw) -> pymysql.Connection:
    u = make_url(url)
    return pymysql.connect(host=u.host or "127.0.0.1", port=u.port or 3306, user=u.username or "root",
                           password=u.password or "", database=u.database, charset="utf8mb4", autocommit=True, **kw)


def execute(url: str, *statements: str) -> None:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def tables(url: str) -> list[str]:
    return [r[0] for r in rows(url, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                                    f"'{database(url)}' AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1")]


def create_statements(url: str, *, auto_increment: bool = True) -> dict[str, str]:
    """SHOW CREATE TABLE of every table, minus what the SQLAlchemy-built schema may word differently."""
    found = {}
    for name in tables(url):
        text = rows(url, f"SHOW CREATE TABLE `{name}`")[0][1]
        for clause in NO_ACTION:
            text = text.replace(clause, "")
        if not auto_increment:
            text = " ".join(w for w in text.split(" ") if not w.startswith("AUTO_INCREMENT="))
        found[name] = text
    return found


def schema_facts(url: str) -> dict[str, list[tuple]]:
    """Columns, indexes and foreign keys as information_schema lists them (order-independent)."""
    db = database(url)
    return {
        "columns": rows(url, "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, "
                             "CHARACTER_SET_NAME, COLLATION_NAME, EXTRA FROM information_schema.COLUMNS "
                             f"WHERE TABLE_SCHEMA = '{db}' ORDER BY 1, 3"),
        "indexes": rows(url, "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART "
                             f"FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{db}' ORDER BY 1, 2, 4"),
        "foreign_keys": rows(url, "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA = "
                                  f"'{db}', REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM "
                                  f"information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = '{db}' AND "
                                  "REFERENCED_TABLE_NAME IS NOT NULL ORDER BY 1, 2, 3"),
    }


def orphans(url: str) -> list[tuple]:
    """Foreign keys with a child value that has no parent row (the load ran with checks off)."""
    found = []
    for table, name, column, _, parent, key in schema_facts(url)["foreign_keys"]:
        missing = rows(url, f"SELECT count(*) FROM `{table}` c LEFT JOIN `{parent}` p ON c.`{column}` = p.`{key}` "
                            f"WHERE c.`{column}` IS NOT NULL AND p.`{key}` IS NULL")[0][0]
        if missing:
            found.append((table, name, missing))
    return found


def checksums(url: str) -> dict[str, tuple]:
    """Row count and CHECKSUM TABLE of every table: equal means the same rows."""
    return {t: (rows(url, f"SELECT count(*) FROM `{t}`")[0][0], rows(url, f"CHECKSUM TABLE `{t}`")[0][1])
            for t in tables(url)}


def leftovers(url: str) -> list[str]:
    db = database(url)
    return [r[0] for r in rows(url, f"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN "
                                    f"('{shadow_database(db)}', '{shadow_database(db, '__sanitizer_old')}')")]


def rules_with(path: Path, base: Path = PASCAL, extra: dict | None = None, columns: dict | None = None) -> Path:
    """chinook-pascal.yaml plus more tables and/or changed column rules."""
    rules = yaml.safe_load(base.read_text())
    rules["tables"].update(extra or {})
    for table, changes in (columns or {}).items():
        rules["tables"][table]["columns"].update(changes)
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return path


def check_masked(source: str, staging: str) -> None:
    """Same customers, each one's e-mail and address changed, money unchanged."""
    sql = "SELECT CustomerId, Email, Address FROM Customer ORDER BY 1"
    before, after = rows(source, sql), rows(staging, sql)
    assert [r[0] for r in before] == [r[0] for r in after]
    assert all(b[1] != a[1] and b[2] != a[2] for b, a in zip(before, after, strict=True))
    total = "SELECT sum(Total) FROM Invoice"  # SQLite sums NUMERIC as a float
    assert round(float(rows(staging, total)[0][0]), 2) == round(float(rows(source, total)[0][0]), 2)


# -- Chinook MySQL -> MariaDB --------------------------------------------------------------------

@pytest.fixture
def chinook(mysql_fixture) -> str:
    """The Chinook MySQL sample with an AUTO_INCREMENT key whose counter is ahead of its rows, and a row
    with key 0 (which MySQL would renumber without NO_AUTO_VALUE_ON_ZERO)."""
    source = mysql_fixture("chinook")
    execute(source,
            "ALTER TABLE InvoiceLine MODIFY InvoiceLineId INT NOT NULL AUTO_INCREMENT, AUTO_INCREMENT = 5000",
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
            "INSERT INTO InvoiceLine VALUES (0, 1, 1, 0.99, 1)")
    return source


def test_chinook_mysql_to_mariadb_and_again(cli, chinook, mysql_url, tmp_path: Path) -> None:
    source, staging = chinook, mysql_url
    first = cli("run", "--source", source, "--target", staging, "--rules", str(PASCAL))
    assert first.returncode == 0, first.stderr
    assert tables(staging) == tables(source)
    assert create_statements(staging, auto_increment=False) == create_statements(source, auto_increment=False)
    assert schema_facts(staging) == schema_facts(source)  # charsets, collations, indexes, FKs to live tables
    assert {t: n for t, (n, _) in checksums(staging).items()} == {t: n for t, (n, _) in checksums(source).items()}
    assert rows(staging, "SELECT InvoiceLineId FROM InvoiceLine WHERE InvoiceLineId = 0") == [(0,)]
    check_masked(source, staging)
    assert orphans(staging) == []
    assert leftovers(staging) == []

    # staging gets a table the source does not have; the source loses an invoice and its lines
    execute(staging, "CREATE TABLE Stray (id INT PRIMARY KEY)")
    execute(source, "DELETE FROM InvoiceLine WHERE InvoiceId = 1", "DELETE FROM Invoice WHERE InvoiceId = 1")
    sql = "SELECT (SELECT count(*) FROM Invoice), (SELECT count(*) FROM InvoiceLine)"
    old, new = rows(staging, sql)[0], rows(source, sql)[0]
    seen, errors, done = set(), [], threading.Event()

    def read() -> None:  # a staging reader during the second run: old pair or new pair, never a mix
        conn = connect(staging)
        try:
            with conn.cursor() as cur:
                while not done.is_set():
                    cur.execute(sql)
                    seen.add(cur.fetchone())
        except Exception as exc:
            errors.append(exc)
        finally:
            conn.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        second = cli("run", "--source", source, "--target", staging, "--rules", str(PASCAL))
    finally:
        time.sleep(0.2)
        done.set()
        reader.join(timeout=30)
    assert second.returncode == 0, second.stderr
    assert errors == []
    assert seen <= {old, new} and new in seen
    assert rows(staging, sql)[0] == new
    assert "Stray" not in tables(staging)  # staging is replaced whole, like the PostgreSQL target's schemas
    assert orphans(staging) == [] and leftovers(staging) == []


def test_cli_keeps_auto_increment_counters(cli, chinook, mysql_url) -> None:
    result = cli("run", "--source", chinook, "--target", mysql_url, "--rules", str(PASCAL))
    assert result.returncode == 0, result.stderr
    assert create_statements(mysql_url) == create_statements(chinook)


def test_source_ddl_is_used_verbatim(chinook, mysql_url) -> None:
    """Given the source's SHOW CREATE TABLE, staging is the source's schema exactly, counters included."""
    execute(chinook, "ALTER TABLE Invoice ADD CONSTRAINT total_positive CHECK (Total >= 0), "
                     "ADD COLUMN Note JSON, MODIFY BillingCity VARCHAR(40) CHARACTER SET latin1")
    with Source(parse(chinook, what="source")) as source:
        assert source.schema is not None
        pairs = [(info, source.sa_table(info)) for info in source.schema.tables.values()]
        pairs[0][1].metadata.info[MYSQL_DDL] = ddl_provider(source.connection, [t.name for _, t in pairs])
        with MySQLTarget(parse(mysql_url, what="target")) as target:
            target.create(pairs)
            for info, _ in pairs:
                for batch in source.batches(info):
                    target.write(info, batch)
            target.finalize({})
            target.commit()
    assert create_statements(mysql_url) == create_statements(chinook)
    assert "AUTO_INCREMENT=5000" in create_statements(mysql_url)["InvoiceLine"]
    assert checksums(mysql_url) == checksums(chinook)


# -- other sources ---------------------------------------------------------------------------------

def test_sqlite_chinook_to_mariadb(cli, sqlite_chinook, mysql_url) -> None:
    result = cli("run", "--source", sqlite_chinook, "--target", mysql_url, "--rules", str(PASCAL))
    assert result.returncode == 0, result.stderr
    assert len(tables(mysql_url)) == 11
    check_masked(sqlite_chinook, mysql_url)
    assert rows(mysql_url, "SELECT count(*) FROM InvoiceLine") == [(2240,)]
    assert len(schema_facts(mysql_url)["foreign_keys"]) == 11 and orphans(mysql_url) == []
    types = rows(mysql_url, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                            f"'{database(mysql_url)}' AND TABLE_NAME = 'Invoice' AND COLUMN_NAME IN "
                            "('InvoiceDate', 'Total') ORDER BY 1")
    assert types == [("InvoiceDate", "datetime(6)"), ("Total", "decimal(10,2)")]


def test_postgres_chinook_to_mariadb(cli, pg_fixture, mysql_url) -> None:
    source = pg_fixture("chinook")
    result = cli("run", "--source", source, "--target", mysql_url, "--rules", str(REPO / "rules" / "chinook.yaml"))
    assert result.returncode == 0, result.stderr
    assert tables(mysql_url) == sorted(r[0] for r in rows(source, "SELECT tablename FROM pg_tables "
                                                                   "WHERE schemaname = 'public'"))
    for table in ("customer", "invoice", "invoice_line", "track"):
        assert rows(mysql_url, f"SELECT count(*) FROM `{table}`") == rows(source, f"SELECT count(*) FROM {table}")
    before = rows(source, "SELECT customer_id, email FROM customer ORDER BY 1")
    after = rows(mysql_url, "SELECT customer_id, email FROM customer ORDER BY 1")
    assert [r[0] for r in before] == [r[0] for r in after] and all(
        b[1] != a[1] for b, a in zip(before, after, strict=True))
    assert rows(mysql_url, "SELECT sum(total) FROM invoice") == rows(source, "SELECT sum(total) FROM invoice")
    assert len(schema_facts(mysql_url)["foreign_keys"]) == 11 and orphans(mysql_url) == []


def test_postgres_pagila_to_mariadb(cli, pg_fixture, mysql_url, tmp_path: Path) -> None:
    """Partitions, a serial inside a composite key, arrays, domains, enums, tsvector and indexed text."""
    source = pg_fixture("pagila")
    rules = keep_all_rules(source, tmp_path / "rules.yaml")
    result = cli("run", "--source", source, "--target", mysql_url, "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    for table in tables(mysql_url):
        assert rows(mysql_url, f"SELECT count(*) FROM `{table}`") == rows(source, f"SELECT count(*) FROM {table}")
    fks = rows(source, "SELECT count(*) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                       "WHERE c.contype = 'f' AND NOT t.relispartition")[0][0]
    assert len({r[:2] for r in schema_facts(mysql_url)["foreign_keys"]}) == fks and orphans(mysql_url) == []
    assert rows(mysql_url, "SELECT sum(amount) FROM payment") == rows(source, "SELECT sum(amount) FROM payment")


PG_KINDS = """
CREATE TABLE kinds (
  code text PRIMARY KEY, label text NOT NULL, flag boolean, amount numeric(12,3), anynum numeric,
  ratio double precision, happened timestamptz, local_at timestamp, day date, doc jsonb, ident uuid,
  tags text[], note varchar(20));
CREATE INDEX kinds_label ON kinds (label);
CREATE TABLE refs (id serial PRIMARY KEY, code text REFERENCES kinds (code));
INSERT INTO kinds VALUES
 ('a''1', E'back\\\\slash ''q'' "dq" \\n nl', true, -12.345, 123456789.123456789, 0.1,
  '2020-06-01 12:00:00.123456+02', '2020-06-01 12:00:00.5', '2020-06-01', '{"k": "v''s"}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{x,y}', 'emoji 😀'),
 ('b', '', false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO refs (code) VALUES ('a''1'), (NULL), ('b');
"""


def test_postgres_types_to_mariadb(cli, pg_url, mysql_url, tmp_path: Path) -> None:
    """PostgreSQL types through the documented mapping (docs/types.md), values exact."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(PG_KINDS)
    engine.dispose()
    kept = "test: made-up values, copied unchanged on purpose"
    columns = ["code", "label", "flag", "amount", "anynum", "ratio", "happened", "local_at", "day", "doc", "ident",
               "tags", "note"]
    rules = {"version": 1, "tables": {
        "public.kinds": {"columns": dict.fromkeys(columns, "keep"),
                         "allow": {c: {"entities": ["phone", "email"], "reason": kept} for c in columns}},
        "public.refs": {"columns": {"id": "keep", "code": "keep"}}}}
    (tmp_path / "kinds.yaml").write_text(yaml.safe_dump(rules))
    result = cli("run", "--source", pg_url, "--target", mysql_url, "--rules", str(tmp_path / "kinds.yaml"))
    assert result.returncode == 0, result.stderr
    got = rows(mysql_url, "SELECT " + ", ".join(f"`{c}`" for c in columns) + " FROM kinds ORDER BY code")
    assert got[0] == ("a'1", "back\\slash 'q' \"dq\" \n nl", 1, Decimal("-12.345"),
                      Decimal("123456789.123456789000000000000000000000"), 0.1,
                      datetime(2020, 6, 1, 10, 0, 0, 123456), datetime(2020, 6, 1, 12, 0, 0, 500000),
                      date(2020, 6, 1), '{"k": "v\'s"}', "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{x,y}", "emoji 😀")
    assert got[1] == ("b", "", 0, *[None] * 10)
    assert rows(mysql_url, "SELECT id, code FROM refs ORDER BY id") == [(1, "a'1"), (2, None), (3, "b")]
    facts = schema_facts(mysql_url)
    assert ("kinds", "kinds_label", 1, 1, "label", 255) in facts["indexes"]  # a TEXT column: prefix index
    assert [r[:5] for r in facts["foreign_keys"]] == [("refs", "refs_code_fkey", "code", 1, "kinds")]


# -- values: Arrow types to MySQL literals -----------------------------------------------------------

def test_arrow_values_round_trip(mysql_url) -> None:
    """Every Arrow type a batch may carry, with the characters that need escaping, read back exactly."""
    metadata = sa.MetaData()
    table = sa.Table(
        "v", metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("t", sa.Text), sa.Column("b", sa.LargeBinary), sa.Column("d", sa.Numeric(20, 4)),
        sa.Column("ts", sa.DateTime), sa.Column("tz", sa.DateTime(timezone=True)), sa.Column("day", sa.Date),
        sa.Column("clock", sa.Time), sa.Column("ok", sa.Boolean), sa.Column("x", sa.Float), sa.Column("j", sa.JSON))
    info = table_info(table, qualify=False)
    text = ["it's", "back\\slash\\", "nul\x00byte", "new\nline\r\ttab", "emoji 😀 ünï", "", None,
            "''; DROP TABLE v; --"]
    blobs = [b"\x00\x27\xff\x5c", b"", None, b"'", b"\\", bytes(range(256)), b"x" * 10, b"\n"]
    n = len(text)
    batch = pa.RecordBatch.from_arrays([
        pa.array(range(n), pa.int64()), pa.array(text, pa.string()), pa.array(blobs, pa.binary()),
        pa.array([Decimal("-1.5"), Decimal("12345678901234.5678"), None, Decimal(0)] * 2, pa.decimal128(20, 4)),
        pa.array([datetime(2020, 1, 2, 3, 4, 5, 678901), None] * 4, pa.timestamp("us")),
        pa.array([datetime(2020, 1, 2, 3, 4, 5, 1, tzinfo=UTC), None] * 4, pa.timestamp("us", tz="UTC")),
        pa.array([date(1999, 12, 31), None] * 4, pa.date32()),
        pa.array([dtime(23, 59, 59, 999999), None] * 4, pa.time64("us")),
        pa.array([True, False, None, True] * 2, pa.bool_()),
        pa.array([0.1, 1e300, None, -2.5e-300] * 2, pa.float64()),
        pa.array(['{"a": "b\'c"}', None] * 4, pa.string()),
    ], names=[c.name for c in info.columns])
    with MySQLTarget(parse(mysql_url, what="target")) as target:
        target.create([(info, table)])
        target.write(info, batch.slice(0, 3))
        target.write(info, batch.slice(3))
        target.finalize({})
        target.commit()
    conn = connect(mysql_url)
    with conn.cursor() as cur:
        cur.execute("SELECT t, b, d, ts, tz, day, clock, ok, x, j FROM v ORDER BY id")
        got = cur.fetchall()
    conn.close()
    assert [r[0] for r in got] == text
    assert [r[1] for r in got] == blobs
    assert [r[2] for r in got] == batch.column(3).to_pylist()
    assert [r[3] for r in got] == batch.column(4).to_pylist()
    assert got[0][4] == datetime(2020, 1, 2, 3, 4, 5, 1)  # UTC wall time
    assert [r[5] for r in got] == batch.column(6).to_pylist()
    assert got[0][6] is not None and got[0][6].total_seconds() == 86399.999999
    assert [r[7] for r in got] == [1, 0, None, 1] * 2
    assert [r[8] for r in got] == batch.column(9).to_pylist()
    assert got[0][9] == '{"a": "b\'c"}'


def test_insert_statements_are_cut_to_size() -> None:
    metadata = sa.MetaData()
    table = sa.Table("s", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("t", sa.Text))
    info = table_info(table, qualify=False)
    batch = pa.RecordBatch.from_arrays([pa.array(range(1000), pa.int64()), pa.array(["x" * 100] * 1000)],
                                       names=["id", "t"])
    statements = list(insert_statements(b"INSERT INTO s VALUES ", batch, info, limit=10_000))
    assert len(statements) > 5 and all(len(s) < 10_000 + 200 for s in statements)
    assert sum(s.count(b"(") for s in statements) == 1000
    assert all(s.endswith(b")") for s in statements)
    big = pa.RecordBatch.from_arrays([pa.array([1], pa.int64()), pa.array(["y" * 50_000])], names=["id", "t"])
    assert len(list(insert_statements(b"INSERT INTO s VALUES ", big, info, limit=10_000))) == 1


# -- faults ----------------------------------------------------------------------------------------

def test_database_error_mid_load_is_exit_3_and_staging_unchanged(cli, chinook, mysql_url, tmp_path: Path) -> None:
    assert cli("run", "--source", chinook, "--target", mysql_url, "--rules", str(PASCAL)).returncode == 0
    before = checksums(mysql_url)
    too_big = 2 ** 40  # fits Arrow's int64, not the INT column: strict mode refuses it
    bad = rules_with(tmp_path / "bad.yaml", columns={"Track": {"Milliseconds": {"strategy": "set", "value": too_big}}})
    result = cli("run", "--source", chinook, "--target", mysql_url, "--rules", str(bad))
    assert result.returncode == 3, result.stderr
    assert "loading Track failed" in result.stderr and "Out of range value for column 'Milliseconds'" in result.stderr
    assert str(too_big) not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert checksums(mysql_url) == before
    assert leftovers(mysql_url) == []
    again = cli("run", "--source", chinook, "--target", mysql_url, "--rules", str(PASCAL))
    assert again.returncode == 0, again.stderr


def test_broken_foreign_key_fails_before_the_swap(cli, chinook, mysql_url, tmp_path: Path) -> None:
    """The load runs with foreign_key_checks off; the keys are verified before anything is published."""
    assert cli("run", "--source", chinook, "--target", mysql_url, "--rules", str(PASCAL)).returncode == 0
    before = checksums(mysql_url)
    orphaned = rules_with(tmp_path / "orphans.yaml",
                          columns={"Invoice": {"CustomerId": {"strategy": "set", "value": 999999}}})
    result = cli("run", "--source", chinook, "--target", mysql_url, "--rules", str(orphaned))
    assert result.returncode == 3, result.stderr
    assert "Invoice: foreign key FK_InvoiceCustomerId (CustomerId) has values that Customer does not have" \
        in result.stderr
    assert checksums(mysql_url) == before and leftovers(mysql_url) == []


def test_repeated_unique_value_fails_before_the_swap(cli, chinook, mysql_url, tmp_path: Path) -> None:
    execute(chinook, "CREATE UNIQUE INDEX uq_rep_email ON Customer (SupportRepId, Email)")
    assert cli("run", "--source", chinook, "--target", mysql_url, "--rules", str(PASCAL)).returncode == 0
    before = checksums(mysql_url)
    # one e-mail for everyone: (SupportRepId, Email) repeats, which only the server's unique index sees
    same = rules_with(tmp_path / "same.yaml", columns={"Customer": {"Email": {"strategy": "set",
                                                                                "value": "someone@example.com"}}})
    result = cli("run", "--source", chinook, "--target", mysql_url, "--rules", str(same))
    assert result.returncode == 3, result.stderr
    assert "loading Customer failed" in result.stderr
    assert "Duplicate entry (value hidden) for key 'uq_rep_email'" in result.stderr
    assert "someone@example.com" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert checksums(mysql_url) == before and leftovers(mysql_url) == []


def test_reason_hides_the_value_the_server_quotes(mysql_url) -> None:
    execute(mysql_url, "CREATE TABLE u (email VARCHAR(40) PRIMARY KEY, n INT)", "INSERT INTO u VALUES ('a@b.c', 1)")
    conn = connect(mysql_url)
    try:
        with conn.cursor() as cur:
            with pytest.raises(pymysql.err.IntegrityError) as dup:
                cur.execute("INSERT INTO u VALUES ('a@b.c', 2)")
            cur.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
            with pytest.raises(pymysql.err.MySQLError) as bad:
                cur.execute("INSERT INTO u VALUES ('x', 'secret-value')")
    finally:
        conn.close()
    assert "a@b.c" in str(dup.value) and "secret-value" in str(bad.value)  # what the server says
    assert reason(dup.value) == "Duplicate entry (value hidden) for key 'PRIMARY' (MySQL error 1062)"
    assert "secret-value" not in reason(bad.value) and "column" in reason(bad.value)


def test_trigger_on_staging_is_refused_before_loading(cli, chinook, mysql_url) -> None:
    execute(mysql_url, "CREATE TABLE Genre (GenreId INT PRIMARY KEY)",
            "CREATE TRIGGER genre_ai AFTER INSERT ON Genre FOR EACH ROW SET @x = 1")
    result = cli("run", "--source", chinook, "--target", mysql_url, "--rules", str(PASCAL))
    assert result.returncode == 2, result.stderr
    assert "staging table Genre has trigger genre_ai" in result.stderr
    assert tables(mysql_url) == ["Genre"] and leftovers(mysql_url) == []


@pytest.fixture
def big_source(chinook) -> str:
    """Chinook plus a table big enough that loading it lasts a few seconds."""
    execute(chinook, "CREATE TABLE big (id BIGINT PRIMARY KEY, payload VARCHAR(120) NOT NULL)",
            "CREATE TABLE d (i INT)", "INSERT INTO d VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
            "INSERT INTO big SELECT n, CONCAT('row ', REPEAT(CHAR(97 + n % 26), 90)) FROM (SELECT a.i + 10 * b.i "
            "+ 100 * c.i + 1000 * e.i + 10000 * f.i + 100000 * g.i AS n FROM d a, d b, d c, d e, d f, d g) s "
            f"WHERE n < {BIG_ROWS}", "DROP TABLE d")
    return chinook


def big_rules(path: Path) -> Path:
    return rules_with(path, extra={"big": {"columns": {"id": "keep", "payload": "keep"}}})


def wait_for_insert(target: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Until the run is inserting into the shadow copy of `big`."""
    shadow = shadow_database(database(target))
    deadline = time.monotonic() + timeout
    conn = connect(target)
    try:
        with conn.cursor() as cur:
            while time.monotonic() < deadline:
                cur.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = %s "
                            "AND INFO LIKE 'INSERT INTO `big`%%'", (shadow,))
                if cur.fetchone()[0]:
                    return
                assert proc.poll() is None, "the run ended before loading big"
                time.sleep(0.02)
    finally:
        conn.close()
    raise AssertionError("the run never started loading big")


def wait_until_unlocked(target: str) -> None:
    """The killed run's session is gone once the server has released its GET_LOCK."""
    for _ in range(1500):
        if rows(target, f"SELECT IS_USED_LOCK('{lock_name(database(target))}')")[0][0] is None:
            return
        time.sleep(0.02)
    raise AssertionError("the killed run's session still holds the lock")


def test_kill_9_during_the_load_leaves_staging_as_it_was(cli, big_source, mysql_url, tmp_path: Path) -> None:
    rules = big_rules(tmp_path / "rules.yaml")
    first = cli("run", "--source", big_source, "--target", mysql_url, "--rules", str(rules))
    assert first.returncode == 0, first.stderr
    before = checksums(mysql_url)
    execute(big_source, "DELETE FROM big WHERE id % 10 = 0", "UPDATE Artist SET Name = CONCAT(Name, ' (new)')")
    proc = start_run(big_source, mysql_url, rules, tmp_path, KEY)
    try:
        wait_for_insert(mysql_url, proc)
        conn = connect(mysql_url)
        with conn.cursor() as cur:  # the old staging stays readable during the load, without waiting:
            cur.execute("SET SESSION lock_wait_timeout = 1")  # a reader blocked by the load errors here
            cur.execute("SELECT count(*) FROM big")
            assert cur.fetchone()[0] == BIG_ROWS
        conn.close()
        proc.send_signal(signal.SIGKILL)  # the sanitizer process only, as the OOM killer would
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        end_group(proc)
    wait_until_unlocked(mysql_url)
    assert checksums(mysql_url) == before
    assert leftovers(mysql_url) == [shadow_database(database(mysql_url))]  # killed mid-load indeed
    again = cli("run", "--source", big_source, "--target", mysql_url, "--rules", str(rules))
    assert again.returncode == 0, again.stderr
    assert rows(mysql_url, "SELECT count(*) FROM big")[0][0] == BIG_ROWS - BIG_ROWS // 10
    assert rows(mysql_url, "SELECT count(*) FROM Artist WHERE Name LIKE '%% (new)'")[0][0] > 0
    assert leftovers(mysql_url) == [] and orphans(mysql_url) == []


def test_a_second_concurrent_run_is_refused_with_exit_3(cli, big_source, mysql_url, tmp_path: Path) -> None:
    rules = big_rules(tmp_path / "rules.yaml")
    proc = start_run(big_source, mysql_url, rules, tmp_path, KEY)
    try:
        wait_for_insert(mysql_url, proc)
        second = cli("run", "--source", big_source, "--target", mysql_url, "--rules", str(rules))
        assert second.returncode == 3
        assert "another sanitizer run is loading it" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        assert proc.wait(timeout=300) == 0, (tmp_path / "run.log").read_text()
    finally:
        end_group(proc)
    assert rows(mysql_url, "SELECT count(*) FROM big")[0][0] == BIG_ROWS
    assert leftovers(mysql_url) == []


def test_busy_target_raises_busy(mysql_url) -> None:
    conn = connect(mysql_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0)", (lock_name(database(mysql_url)),))
        with pytest.raises(Busy, match="another sanitizer run is loading it"), \
                MySQLTarget(parse(mysql_url, what="target")):
            pass
    finally:
        conn.close()


def test_missing_database_is_a_load_error_without_password(mysql_url) -> None:
    url = make_url(mysql_url).set(database="no_such_db_here", password="pw-Very-Secret")
    with pytest.raises(LoadError) as failed, MySQLTarget(parse(url.render_as_string(hide_password=False),
                                                               what="target")):
        pass
    assert "pw-Very-Secret" not in str(failed.value) and "no_such_db_here" in str(failed.value)


# -- the target is not the source ------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "same"), [
    ("mysql://u@127.0.0.1/shop", "mysql://u@localhost:3306/shop", True),
    ("mysql+pymysql://u@localhost/shop", "mariadb://v:pw@127.0.0.1/shop", True),
    ("mysql://u@127.0.0.1:3306/shop", "mysql://u@127.0.0.1:3307/shop", False),
    ("mysql://u@127.0.0.1/shop", "mysql://u@127.0.0.1/shop_staging", False),
    ("mysql://u@db1/shop", "mysql://u@db2/shop", False),
])
def test_same_database_for_mysql_urls(a: str, b: str, same: bool) -> None:
    assert same_database(parse(a, what="source"), parse(b, what="target")) is same


def test_source_as_target_is_refused(cli, chinook) -> None:
    u = make_url(chinook)  # the same server and database, written another way
    host = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}.get(u.host or "", u.host)
    port = {None: 3306, 3306: None}.get(u.port, u.port)
    target = u.set(host=host, port=port)
    result = cli("run", "--source", chinook, "--target", target.render_as_string(hide_password=False),
                 "--rules", str(PASCAL))
    assert result.returncode == 2
    assert "same database as --source" in result.stderr
