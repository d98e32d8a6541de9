"""The database fixtures themselves: real servers, private databases, sample data as published."""

from __future__ import annotations

import dbs
import pytest
import sqlalchemy as sa


def _scalar(url: str, sql: str) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()
    finally:
        engine.dispose()


def _execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5/d", "postgresql+psycopg://u:p@h:5/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg://u@h/d"),
        (
            "postgresql://postgres@127.0.0.1:5432/postgres",
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        ),
    ],
)
def test_normalize_pg_url(given: str, expected: str) -> None:
    assert dbs.normalize_pg_url(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("mysql://root@h:3306/mysql", "mysql+pymysql://root@h:3306/mysql"),
        ("mariadb+mysqldb://r:p@h/x", "mysql+pymysql://r:p@h/x"),
    ],
)
def test_normalize_mysql_url(given: str, expected: str) -> None:
    assert dbs.normalize_mysql_url(given) == expected


def test_pg_server_answers(pg_server: dbs.PgServer, pg_url: str) -> None:
    assert pg_server.url.startswith("postgresql+psycopg://")
    assert _scalar(pg_server.url, "select 1") == 1
    assert _scalar(pg_url, "select 1") == 1


def test_pg_url_databases_are_distinct(pg_server: dbs.PgServer, pg_url: str) -> None:
    other = pg_server.new_database("t")
    assert other != pg_url
    _execute(pg_url, "create table only_here (id int)")
    assert _scalar(pg_url, "select to_regclass('only_here') is not null") is True
    assert _scalar(other, "select to_regclass('only_here') is not null") is False


def test_pg_chinook_copies_are_private(pg_fixture) -> None:
    a, b = pg_fixture("chinook"), pg_fixture("chinook")
    assert a != b
    assert _scalar(a, "select count(*) from customer") == 59
    assert _scalar(a, "select first_name from customer where customer_id = 1") == "Luís"  # UTF-8 intact
    _execute(a, "delete from invoice_line; delete from invoice; delete from customer")
    assert _scalar(a, "select count(*) from customer") == 0
    assert _scalar(b, "select count(*) from customer") == 59


def test_pg_template_is_reused(pg_server: dbs.PgServer, pg_fixture) -> None:
    pg_fixture("chinook")
    oid_sql = "select oid from pg_database where datname = 'tmpl_chinook'"
    before = _scalar(pg_server.url, oid_sql)
    pg_fixture("chinook")
    assert _scalar(pg_server.url, oid_sql) == before  # not rebuilt
    comment = _scalar(pg_server.url, f"select shobj_description({before}, 'pg_database')")
    assert comment == dbs.fixture_marker("chinook")


@pytest.mark.parametrize(
    ("name", "table", "rows"),
    [("pagila", "customer", 599), ("northwind", "customers", 91), ("sakila", "customer", 599)],
)
def test_pg_other_fixtures_load(pg_fixture, name: str, table: str, rows: int) -> None:
    assert _scalar(pg_fixture(name), f"select count(*) from {table}") == rows


def test_pg_fixture_rejects_unknown_names(pg_fixture) -> None:
    with pytest.raises(ValueError, match="unknown fixture"):
        pg_fixture("nope")


@pytest.mark.mysql
def test_mysql_chinook(mysql_fixture, mysql_url: str) -> None:
    a, b = mysql_fixture("chinook"), mysql_fixture("chinook")
    assert _scalar(a, "select count(*) from Customer") == 59
    assert _scalar(a, "select FirstName from Customer where CustomerId = 1") == "Luís"  # utf8mb4 intact
    _execute(a, "delete from InvoiceLine")
    assert _scalar(b, "select count(*) from InvoiceLine") == 2240
    tables = "select count(*) from information_schema.tables where table_schema = database()"
    assert _scalar(mysql_url, tables) == 0


def test_sqlite_chinook(sqlite_chinook: str) -> None:
    assert _scalar(sqlite_chinook, "select count(*) from Customer") == 59
    _execute(sqlite_chinook, "delete from InvoiceLine")  # a private, writable copy
