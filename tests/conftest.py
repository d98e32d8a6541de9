"""Pytest fixtures giving each test its own real database; provisioning itself lives in dbs.py.

Fixture names are a contract the other test files rely on:
pg_server, pg_url, pg_fixture, mysql_server, mysql_url, mysql_fixture, sqlite_path, sqlite_chinook,
demo_prod.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import dbs
import pytest


@pytest.fixture(scope="session")
def pg_server() -> Iterator[dbs.PgServer]:
    """One PostgreSQL per session (env URL, Docker or embedded); its databases are dropped at the end."""
    server = dbs.start_pg_server()
    try:
        yield server
    finally:
        server.close()


def _dropping(server: dbs.PgServer | dbs.MySqlServer, urls: list[str]) -> None:
    """Drop a test's databases as soon as it ends, so a long session does not pile them up."""
    for url in urls:
        with contextlib.suppress(Exception):
            server.drop_database(url)


@pytest.fixture
def pg_url(pg_server: dbs.PgServer) -> Iterator[str]:
    """URL of a new empty PostgreSQL database, for this test only."""
    url = pg_server.new_database("t")
    yield url
    _dropping(pg_server, [url])


@pytest.fixture
def pg_fixture(pg_server: dbs.PgServer) -> Iterator[Callable[[str], str]]:
    """Factory: pg_fixture("pagila"|"chinook"|"northwind"|"sakila") -> URL of a fresh private copy."""
    urls: list[str] = []

    def make(name: str) -> str:
        try:
            url = pg_server.fixture_database(name)
        except dbs.Unavailable as e:
            pytest.skip(str(e))
        urls.append(url)
        return url

    yield make
    _dropping(pg_server, urls)


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[dbs.MySqlServer]:
    """One MySQL-family server per session, or every test that needs it is skipped with the reason."""
    try:
        server = dbs.start_mysql_server()
    except dbs.Unavailable as e:
        pytest.skip(str(e))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def mysql_url(mysql_server: dbs.MySqlServer) -> Iterator[str]:
    """URL of a new empty MySQL/MariaDB database (utf8mb4), for this test only."""
    url = mysql_server.new_database("t")
    yield url
    _dropping(mysql_server, [url])


@pytest.fixture
def mysql_fixture(mysql_server: dbs.MySqlServer) -> Iterator[Callable[[str], str]]:
    """Factory: mysql_fixture("chinook") -> URL of a freshly loaded database (MySQL has no templates)."""
    urls: list[str] = []

    def make(name: str) -> str:
        try:
            url = mysql_server.fixture_database(name)
        except dbs.Unavailable as e:
            pytest.skip(str(e))
        urls.append(url)
        return url

    yield make
    _dropping(mysql_server, urls)


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """Where a test may create its own SQLite file."""
    return tmp_path / "db.sqlite"


@pytest.fixture
def sqlite_chinook(tmp_path: Path) -> str:
    """SQLAlchemy URL of a private copy of the Chinook SQLite file (the shared one is read-only)."""
    src = dbs.fixtures_dir() / "chinook" / "Chinook_Sqlite.sqlite"
    dst = tmp_path / "chinook.sqlite"
    shutil.copyfile(src, dst)  # copyfile, not copy: the source's read-only mode bits must not follow
    return f"sqlite:///{dst}"


@pytest.fixture(scope="session")
def demo_prod(tmp_path_factory) -> str:
    """URL of a small demo 'production' SQLite file (300 customers; sanitizer.demo_data), read-only by use."""
    from sanitizer.demo_data import build_prod_db

    path = tmp_path_factory.mktemp("demo-prod") / "prod.db"
    build_prod_db(path, customers=300)
    return f"sqlite:///{path}"


TEST_KEY = dbs.TEST_KEY


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real `sanitizer` command line in a subprocess, as a cron job would.

    The masking key defaults to TEST_KEY; pass key=None to run without one, env={...} to add variables.
    """

    def run(*args: str, key: str | None = TEST_KEY, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SANITIZER_KEY")}
        if key is not None:
            full_env["SANITIZER_KEY"] = key
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "sanitizer", *args], capture_output=True, text=True,
                              env=full_env, cwd=cwd or tmp_path, timeout=300)

    return run
