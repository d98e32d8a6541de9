"""Helpers for the audit and access tests (a uniquely named module: `conftest` is taken by tests/)."""

from __future__ import annotations

import dbs
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

# The private server's authentication: only the superuser is trusted, other roles need their password.
HBA = """\
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


def as_role(url: str, role: str, password: str = "x") -> str:
    """The same database, logging in as `role` over TCP to 127.0.0.1."""
    return make_url(url).set(drivername="postgresql+psycopg", username=role, password=password,
                             host="127.0.0.1").render_as_string(hide_password=False)


def execute(url: str, *statements: str) -> list:
    """Run statements as the URL's user in autocommit; the last statement's rows (or [])."""
    engine = sa.create_engine(dbs.normalize_pg_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = None
            for statement in statements:
                result = conn.exec_driver_sql(statement)
            return result.all() if result is not None and result.returns_rows else []
    finally:
        engine.dispose()
