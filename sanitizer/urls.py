"""Database URLs: parse, redact for display, identify servers, open engines with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from .errors import ConfigError

DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg", "mysql": "mysql+pymysql",
           "mariadb": "mysql+pymysql", "sqlite": "sqlite"}


def parse(url: str, *, what: str) -> URL:
    """Parse a URL given by the user; choose our drivers when the URL names none."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(
            f"--{what}: not a database URL; use postgresql://user@host/db, mysql+pymysql://... or sqlite:///file.db"
        ) from None
    if "+" not in parsed.drivername:
        driver = DRIVERS.get(parsed.drivername)
        if driver is None:
            raise ConfigError(f"--{what}: unsupported database {parsed.drivername!r}; use postgresql, mysql or sqlite")
        parsed = parsed.set(drivername=driver)
    return parsed


def redact(url: URL | str) -> str:
    """The URL as it may be shown: never with its password."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


def libpq_invocation(url: URL, application: str, **settings: str) -> tuple[str, dict[str, str]]:
    """(conninfo, environment) for a PostgreSQL client program (pg_dump, psql): the password goes in the
    environment, never on the command line where `ps` would show it; `settings` are extra variables."""
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = {**os.environ, "PGAPPNAME": application, **settings}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def identity(url: URL) -> dict[str, object]:
    """Who and where, without credentials: for audit records and reports."""
    if url.get_backend_name() == "sqlite":
        return {"dialect": "sqlite", "database": str(Path(url.database or "").resolve())}
    return {"dialect": url.get_backend_name(), "host": url.host or "localhost", "port": url.port,
            "database": url.database, "user": url.username}


def same_database(a: URL, b: URL) -> bool:
    """True when two URLs resolve to the same server and database (refuse to write the source)."""
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return bool(a.database) and Path(a.database).resolve() == Path(b.database or "").resolve()
    host = {"localhost", "127.0.0.1", "::1", None, ""}
    same_host = a.host == b.host or (a.host in host and b.host in host)
    port_a = a.port or default_port(a)
    port_b = b.port or default_port(b)
    return same_host and port_a == port_b and (a.database or "") == (b.database or "")


def default_port(url: URL) -> int | None:
    return {"postgresql": 5432, "mysql": 3306}.get(url.get_backend_name())


def env_default(name: str) -> str | None:
    return os.environ.get(name) or None
