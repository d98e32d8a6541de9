"""The target is never the source, however its URL is spelled: the servers decide (sanitizer/sameness.py).

Each spelling is tried as a hostile operator would, with --force, on real PostgreSQL and MariaDB servers and
on SQLite files; afterwards production's rows and schema must be exactly as they were.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import dbs
import pytest
import sqlalchemy as sa
from dbs import execute
from dbs import query_rows as rows
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from sanitizer import sameness
from sanitizer.urls import parse

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "chinook.yaml"
PASCAL = REPO / "rules" / "chinook-pascal.yaml"
OTHER_ROLE, OTHER_PASSWORD = "sanitizer_other_role", "other-pw-1"

Spelling = Callable[[URL], tuple[URL, dict[str, str]]]


def _host(host: str) -> Spelling:
    return lambda u: (u.set(host=host), {})


def _port_written(u: URL) -> tuple[URL, dict[str, str]]:
    return u.set(host="localhost", port=u.port or sameness_default_port(u)), {}


def _other_role(u: URL) -> tuple[URL, dict[str, str]]:
    return u.set(username=OTHER_ROLE, password=OTHER_PASSWORD), {}


def _trailing_slash(u: URL) -> tuple[URL, dict[str, str]]:
    """postgresql://user@host:port/ — no database in the URL; libpq takes it from PGDATABASE."""
    return u.set(host="LOCALHOST", port=u.port or 5432)._replace(database=None), {"PGDATABASE": u.database or ""}


def _hostname(u: URL) -> tuple[URL, dict[str, str]]:
    return u.set(host=socket.gethostname()), {}


def sameness_default_port(u: URL) -> int:
    return 5432 if u.get_backend_name() == "postgresql" else 3306


PG_SPELLINGS = {"127.0.0.1": _host("127.0.0.1"), "127.1": _host("127.1"), "localhost": _host("localhost"),
                "LOCALHOST": _host("LOCALHOST"), "hostname": _hostname, "other role": _other_role,
                "port written out": _port_written, "trailing slash": _trailing_slash}
MYSQL_SPELLINGS = {k: v for k, v in PG_SPELLINGS.items() if k != "trailing slash"}


def _answers(url: URL, env: dict[str, str]) -> bool:
    """Whether the server takes this spelling at all (a server may not listen on the machine's name)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
        with engine.connect():
            return True
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def pg_state(url: str) -> list:
    """Production's schemas, tables and every customer row: what an overwrite would change."""
    return [rows(url, "select nspname from pg_namespace order by 1"),
            rows(url, "select schemaname, tablename from pg_tables where schemaname not like 'pg_%%' order by 1, 2"),
            rows(url, "select md5(string_agg(c::text, '|' order by customer_id)) from customer c"),
            rows(url, "select count(*) from invoice_line")]


@pytest.fixture
def pg_other_role(pg_server) -> str:
    admin = pg_server.url_for("postgres")
    execute(dbs.normalize_pg_url(admin), f"DROP ROLE IF EXISTS {OTHER_ROLE}",
            f"CREATE ROLE {OTHER_ROLE} LOGIN PASSWORD '{OTHER_PASSWORD}'")
    yield OTHER_ROLE
    execute(dbs.normalize_pg_url(admin), f"DROP OWNED BY {OTHER_ROLE}", f"DROP ROLE IF EXISTS {OTHER_ROLE}")


def _pg_spelling(prod: str, name: str) -> tuple[str, dict[str, str]]:
    u = parse(prod, what="source")
    if u.host not in ("127.0.0.1", "localhost"):
        pytest.skip(f"the test server is reached through {u.host!r}, not the loopback; host spellings need TCP")
    spelled, env = PG_SPELLINGS[name](u)
    if not _answers(spelled, env):
        pytest.skip(f"the test server does not answer when spelled {name!r} ({spelled.host})")
    return spelled.render_as_string(hide_password=False), env


@pytest.mark.parametrize("spelling", list(PG_SPELLINGS))
def test_pg_server_probe_sees_through_each_spelling(pg_fixture, pg_other_role, spelling: str) -> None:
    prod = pg_fixture("chinook")
    target, env = _pg_spelling(prod, spelling)
    os.environ.update(env)
    try:
        assert sameness.is_same(parse(prod, what="source"), parse(target, what="target"))
    finally:
        for k in env:
            os.environ.pop(k, None)


def test_pg_probe_tells_another_database_on_the_same_server(pg_fixture, pg_url, pg_other_role) -> None:
    prod = parse(pg_fixture("chinook"), what="source")
    other = parse(pg_url, what="target")
    assert not sameness.is_same(prod, other.set(host="127.1"))
    assert not sameness.is_same(prod, other.set(username=OTHER_ROLE, password=OTHER_PASSWORD))


@pytest.mark.parametrize("spelling", list(PG_SPELLINGS))
def test_run_with_force_never_writes_the_source(cli, pg_fixture, pg_other_role, spelling: str) -> None:
    prod = pg_fixture("chinook")
    before = pg_state(prod)
    target, env = _pg_spelling(prod, spelling)
    result = cli("run", "--source", prod, "--target", target, "--rules", str(RULES), "--force", env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "same database as --source" in lines[0], result.stderr
    assert OTHER_PASSWORD not in result.stderr + result.stdout
    assert pg_state(prod) == before


def test_validate_refuses_the_source_as_target(cli, pg_fixture) -> None:
    prod = pg_fixture("chinook")
    target, env = _pg_spelling(prod, "127.1")
    result = cli("validate", "--source", prod, "--target", target, "--rules", str(RULES), env=env)
    assert result.returncode == 2
    assert "same database as --source" in result.stderr


def test_force_never_adopts_a_restored_copy_of_the_source(cli, pg_fixture) -> None:
    prod, copy = pg_fixture("chinook"), pg_fixture("chinook")  # e.g. last week's dump restored elsewhere
    before = pg_state(copy)
    result = cli("run", "--source", prod, "--target", copy, "--rules", str(RULES), "--force")
    assert result.returncode == 2, result.stderr
    assert "holds the source's original values" in result.stderr and "--force does not adopt it" in result.stderr
    assert pg_state(copy) == before


def test_force_still_adopts_a_database_without_the_source_values(cli, pg_fixture, pg_url) -> None:
    prod = pg_fixture("chinook")
    execute(dbs.normalize_pg_url(pg_url), "CREATE TABLE hand_made (id int primary key)",
            "INSERT INTO hand_made VALUES (1)")
    refused = cli("run", "--source", prod, "--target", pg_url, "--rules", str(RULES))
    assert refused.returncode == 2 and "no sanitizer marker" in refused.stderr
    forced = cli("run", "--source", prod, "--target", pg_url, "--rules", str(RULES), "--force")
    assert forced.returncode == 0, forced.stderr
    assert rows(pg_url, "select count(*) from customer") == rows(prod, "select count(*) from customer")


def test_load_from_snapshot_refuses_the_source_under_another_spelling(cli, pg_fixture, tmp_path: Path) -> None:
    prod = pg_fixture("chinook")
    out = tmp_path / "snap"
    made = cli("run", "--source", prod, "--out", str(out), "--rules", str(RULES))
    assert made.returncode == 0, made.stderr
    before = pg_state(prod)
    target, env = _pg_spelling(prod, "hostname")
    result = cli("load", "--from", str(out), "--target", target, "--force", env=env)
    assert result.returncode == 2, result.stderr
    assert "the database the snapshot was taken from" in result.stderr
    assert pg_state(prod) == before


# -- MySQL / MariaDB --------------------------------------------------------------------------------

def mysql_state(url: str) -> list:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = conn.exec_driver_sql("SHOW TABLES").scalars().all()
            checksum = conn.exec_driver_sql("CHECKSUM TABLE Customer, InvoiceLine").all()
            schemas = conn.exec_driver_sql("SHOW DATABASES").scalars().all()
        return [sorted(tables), checksum, sorted(schemas)]
    finally:
        engine.dispose()


@pytest.fixture
def mysql_other_user(mysql_server):
    admin = mysql_server.url_for("mysql")
    engine = sa.create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP USER IF EXISTS '{OTHER_ROLE}'@'%'"))
        conn.execute(sa.text(f"CREATE USER '{OTHER_ROLE}'@'%' IDENTIFIED BY '{OTHER_PASSWORD}'"))
        conn.execute(sa.text(f"GRANT ALL ON *.* TO '{OTHER_ROLE}'@'%'"))
    yield OTHER_ROLE
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP USER IF EXISTS '{OTHER_ROLE}'@'%'"))
    engine.dispose()


@pytest.mark.parametrize("spelling", list(MYSQL_SPELLINGS))
def test_mysql_run_with_force_never_writes_the_source(cli, mysql_fixture, mysql_other_user, spelling: str) -> None:
    prod = mysql_fixture("chinook")
    u = make_url(prod)
    if u.host not in ("127.0.0.1", "localhost"):
        pytest.skip(f"the MySQL test server is reached through {u.host!r}; host spellings need the loopback")
    spelled, env = MYSQL_SPELLINGS[spelling](u)
    if not _answers(spelled, env):
        pytest.skip(f"the MySQL test server does not answer when spelled {spelling!r}")
    target = spelled.render_as_string(hide_password=False)
    assert sameness.is_same(parse(prod, what="source"), parse(target, what="target"))
    before = mysql_state(prod)
    result = cli("run", "--source", prod, "--target", target, "--rules", str(PASCAL), "--force")
    assert result.returncode == 2, result.stderr
    assert "same database as --source" in result.stderr
    assert mysql_state(prod) == before


def test_mysql_load_from_snapshot_refuses_the_source_under_another_spelling(cli, mysql_fixture,
                                                                           tmp_path: Path) -> None:
    """The manifest records the MySQL source's server and schema; `load --from` compares its own target."""
    prod = mysql_fixture("chinook")
    out = tmp_path / "snap"
    made = cli("run", "--source", prod, "--out", str(out), "--rules", str(PASCAL))
    assert made.returncode == 0, made.stderr
    before = mysql_state(prod)
    spelled = make_url(prod).set(host="127.1" if make_url(prod).host == "127.0.0.1" else "127.0.0.1")
    if not _answers(spelled, {}):
        pytest.skip("the MySQL test server does not answer on the other loopback spelling")
    result = cli("load", "--from", str(out), "--target", spelled.render_as_string(hide_password=False), "--force")
    assert result.returncode == 2, result.stderr
    assert "the database the snapshot was taken from" in result.stderr
    assert mysql_state(prod) == before


def test_mysql_probe_tells_another_schema_and_case(mysql_fixture, mysql_url) -> None:
    prod = parse(mysql_fixture("chinook"), what="source")
    assert not sameness.is_same(prod, parse(mysql_url, what="target").set(host="127.1"))
    folded = sa.create_engine(prod, poolclass=NullPool)
    with folded.connect() as conn:
        case_insensitive = conn.exec_driver_sql("SELECT @@lower_case_table_names").scalar() != 0
    folded.dispose()
    upper = prod.set(database=prod.database.upper(), host="LOCALHOST")
    assert sameness.is_same(prod, upper) is case_insensitive


# -- SQLite -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["symlink", "hardlink", "relative path", "uri"])
def test_sqlite_same_file_by_any_path(cli, sqlite_chinook, tmp_path: Path, how: str) -> None:
    prod = Path(make_url(sqlite_chinook).database)
    before = prod.read_bytes()
    other = tmp_path / "elsewhere"
    other.mkdir()
    if how == "symlink":
        (other / "staging.sqlite").symlink_to(prod)
        target = f"sqlite:///{other / 'staging.sqlite'}"
    elif how == "hardlink":
        os.link(prod, other / "staging.sqlite")
        target = f"sqlite:///{other / 'staging.sqlite'}"
    elif how == "relative path":
        target = f"sqlite:///{os.path.relpath(prod, tmp_path)}"
    else:
        target = f"sqlite:///file:{prod}?mode=rw&uri=true"
    result = cli("run", "--source", sqlite_chinook, "--target", target, "--rules", str(PASCAL), "--force")
    assert result.returncode == 2, result.stderr
    assert "same database as --source" in result.stderr
    assert prod.read_bytes() == before
