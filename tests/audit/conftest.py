"""Fixtures for audit and access tests: unique cluster-wide role names (cleaned up), and a private
PostgreSQL whose TCP logins need a real SCRAM password (so VALID UNTIL is enforced).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import dbs
import pytest
from audit_helpers import HBA, execute


@pytest.fixture
def role_names(pg_server: dbs.PgServer) -> Iterator[Callable[[str], str]]:
    """Factory: role_names(db_url) -> a unique role name; the role is dropped after the test.

    Roles are cluster-wide, so each name is fresh and every database it was used in is cleaned first.
    """
    made: list[tuple[str, str]] = []

    def make(url: str) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        made.append((url, name))
        return name

    yield make
    for url, name in made:
        with contextlib.suppress(Exception):
            execute(url, f'DROP OWNED BY "{name}"')
        with contextlib.suppress(Exception):
            execute(url, f'DROP ROLE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def scram_url() -> Iterator[str]:
    """Admin URL of a private PostgreSQL where only `postgres` is trusted; other roles need a password.

    The shared test server trusts every TCP login (so it ignores passwords and VALID UNTIL); this one
    checks both. Skipped where no embedded PostgreSQL can be started.
    """
    try:
        server = dbs._start_embedded_pg()
    except Exception as exc:
        pytest.skip(f"no private PostgreSQL with password authentication: {type(exc).__name__}: {exc}")
    try:
        hba = Path(execute(server.url, "SHOW hba_file")[0][0])
        hba.write_text(HBA)
        execute(server.url, "SELECT pg_reload_conf()")
        url = server.new_database("scram")
        yield url
    finally:
        server.close()
