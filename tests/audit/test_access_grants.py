"""Read-only access grants on a real PostgreSQL: what a granted role can and cannot do, expiry, revoke.

The shared test server trusts every TCP login, so privilege checks are real there but passwords and
VALID UNTIL are not; the `scram_url` server checks both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from audit_helpers import as_role, execute
from sqlalchemy.engine import make_url

from sanitizer.audit import access, db
from sanitizer.audit.render import format_access
from sanitizer.errors import ConfigError

SETUP = ("CREATE TABLE public.customers (id int PRIMARY KEY, email text)",
         "INSERT INTO public.customers VALUES (1, 'a@example.test')",
         "CREATE SCHEMA sales", "CREATE TABLE sales.orders (id int PRIMARY KEY, customer int)",
         "INSERT INTO sales.orders VALUES (10, 1)")
WRITES = ("INSERT INTO public.customers VALUES (2, 'b@example.test')", "UPDATE public.customers SET email = 'x'",
          "DELETE FROM public.customers", "DROP TABLE public.customers", "TRUNCATE sales.orders",
          "CREATE TABLE public.mine (id int)", "CREATE TABLE sales.mine (id int)", "ALTER TABLE sales.orders ADD c int")


def swap_in_new_public(url: str) -> None:
    """What a refresh does: build a shadow schema, rename it over the live one in one transaction."""
    execute(url, "BEGIN", "CREATE SCHEMA sanitizer_new_public",
            "CREATE TABLE sanitizer_new_public.customers (id int PRIMARY KEY, email text)",
            "INSERT INTO sanitizer_new_public.customers VALUES (5, 'new@example.test')",
            "ALTER SCHEMA public RENAME TO sanitizer_old_public",
            "ALTER SCHEMA sanitizer_new_public RENAME TO public", "DROP SCHEMA sanitizer_old_public CASCADE", "COMMIT")


@pytest.fixture
def staging(pg_url: str) -> str:
    execute(pg_url, *SETUP)
    return pg_url


def test_granted_role_reads_and_cannot_write(staging: str, role_names: Callable[[str], str]) -> None:
    role = role_names(staging)
    result = access.grant(staging, role, expires=timedelta(days=7))
    assert result["created"] and result["scope"] == "all" and len(result["password"]) >= 24
    url = as_role(staging, role, result["password"])
    assert execute(url, "SELECT count(*) FROM public.customers")[0][0] == 1
    assert execute(url, "SELECT count(*) FROM sales.orders")[0][0] == 1
    for statement in WRITES:
        with pytest.raises(sa.exc.ProgrammingError, match=r"permission denied|must be owner"):
            execute(url, statement)
    for statement in ("SELECT * FROM sanitizer_audit.events", "SELECT * FROM sanitizer_audit.grants"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            execute(url, statement)
    assert execute(staging, "SELECT count(*) FROM public.customers")[0][0] == 1


def test_access_survives_a_refresh_through_default_privileges(staging: str, role_names) -> None:
    role = role_names(staging)
    access.grant(staging, role)
    swap_in_new_public(staging)
    execute(staging, "CREATE TABLE sales.returns (id int)")
    url = as_role(staging, role)
    assert execute(url, "SELECT id FROM public.customers") == [(5,)]
    assert execute(url, "SELECT count(*) FROM sales.returns")[0][0] == 0
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        execute(url, "INSERT INTO public.customers VALUES (6, 'x')")


def test_table_scoped_grant_and_reapply_before_the_swap(staging: str, role_names) -> None:
    role = role_names(staging)
    result = access.grant(staging, role, tables=["orders"])
    assert result["scope"] == ["sales.orders"]
    url = as_role(staging, role)
    assert execute(url, "SELECT count(*) FROM sales.orders")[0][0] == 1
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        execute(url, "SELECT * FROM public.customers")
    # A refresh replaces sales.orders; the load re-grants on the shadow table before the swap.
    engine = db.engine_for(staging)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA sanitizer_new_sales")
        conn.exec_driver_sql("CREATE TABLE sanitizer_new_sales.orders (id int)")
        assert access.reapply_grants(conn, {"sales": "sanitizer_new_sales"}) == 1
        conn.exec_driver_sql("ALTER SCHEMA sales RENAME TO sanitizer_old_sales")
        conn.exec_driver_sql("ALTER SCHEMA sanitizer_new_sales RENAME TO sales")
        conn.exec_driver_sql("DROP SCHEMA sanitizer_old_sales CASCADE")
    engine.dispose()
    assert execute(url, "SELECT count(*) FROM sales.orders")[0][0] == 0


def test_unknown_or_ambiguous_tables_are_config_errors(staging: str, role_names) -> None:
    execute(staging, "CREATE TABLE sales.customers (id int)")
    role = role_names(staging)
    with pytest.raises(ConfigError, match="no such table"):
        access.grant(staging, role, tables=["nope"])
    with pytest.raises(ConfigError, match="ambiguous"):
        access.grant(staging, role, tables=["customers"])
    assert execute(staging, f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'") == []  # rolled back


@pytest.mark.parametrize("name", ["Alice", "1abc", "pg_reader", 'a"b', "a-b", "public", "x" * 64, ""])
def test_role_names_are_validated(staging: str, name: str) -> None:
    with pytest.raises(ConfigError, match="not allowed"):
        access.grant(staging, name)


def test_roles_sanitizer_did_not_create_are_left_alone(staging: str, role_names) -> None:
    role = role_names(staging)
    execute(staging, f'CREATE ROLE "{role}" LOGIN')
    with pytest.raises(ConfigError, match="not created by sanitizer"):
        access.grant(staging, role)
    with pytest.raises(ConfigError, match="not created by sanitizer"):
        access.revoke(staging, role)
    with pytest.raises(ConfigError, match="not created by sanitizer"):
        access.grant(staging, "postgres")


def test_update_expiry_list_revoke_and_audit(staging: str, role_names) -> None:
    role = role_names(staging)
    secret_url = make_url(staging).set(password="url-secret-123").render_as_string(hide_password=False)
    first = access.grant(secret_url, role, expires=timedelta(days=1), password="given-secret-456", actor="ops")
    assert "password" not in first and first["log_statement"] is True  # superuser may set it
    valid = execute(staging, f"SELECT rolvaliduntil FROM pg_roles WHERE rolname = '{role}'")[0][0]
    assert abs(valid - (datetime.now(UTC) + timedelta(days=1))) < timedelta(minutes=1)
    second = access.grant(staging, role, expires=timedelta(days=30), actor="ops")
    assert not second["created"] and "password" not in second
    [row] = access.list_access(staging)
    assert row["role"] == role and row["granted_by"] == "ops" and not row["expired"] and row["can_login"]
    assert row["until"] > datetime.now(UTC) + timedelta(days=29) and row["log_statement"]
    assert row["since"] <= datetime.now(UTC) and role in format_access([row])
    execute(staging, f"ALTER ROLE \"{role}\" VALID UNTIL '2000-01-01'")
    [row] = access.list_access(staging)
    assert row["expired"] and "expired" in format_access([row])
    assert access.revoke(staging, role, actor="ops") == {"role": role, "dropped": True}
    assert access.list_access(staging) == []
    assert execute(staging, f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'") == []
    records = db.read_db(staging)
    assert [r["command"] for r in records] == ["access grant", "access grant", "access revoke"]
    assert db.verify_db(staging) is None
    text = json.dumps(records)
    assert "secret" not in text and "password" not in text.replace("password_set", "")
    assert records[0]["actor"] == "ops" and records[0]["target"]["database"] == make_url(staging).database


def test_role_with_access_elsewhere_is_kept_on_revoke(staging: str, pg_url: str, role_names, pg_server) -> None:
    other = pg_server.new_database("t")
    try:
        execute(other, *SETUP)
        role = role_names(other)
        access.grant(other, role)
        access.grant(staging, role)
        result = access.revoke(staging, role)
        assert result == {"role": role, "dropped": False}
        assert execute(as_role(other, role), "SELECT count(*) FROM public.customers")[0][0] == 1
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            execute(as_role(staging, role), "SELECT * FROM public.customers")
        assert access.revoke(other, role)["dropped"]
    finally:
        pg_server.drop_database(other)


def test_password_and_expiry_are_enforced_with_password_auth(scram_url: str, role_names) -> None:
    role = role_names(scram_url)
    execute(scram_url, "CREATE TABLE t (id int)")
    password = access.grant(scram_url, role, expires=timedelta(hours=1))["password"]
    assert execute(as_role(scram_url, role, password), "SELECT count(*) FROM t") == [(0,)]
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        execute(as_role(scram_url, role, "wrong-password"), "SELECT 1")
    execute(scram_url, f"ALTER ROLE \"{role}\" VALID UNTIL '{(datetime.now(UTC) - timedelta(minutes=1)).isoformat()}'")
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        execute(as_role(scram_url, role, password), "SELECT 1")
    access.grant(scram_url, role, expires=timedelta(hours=1))  # renewing lets the same password in again
    assert execute(as_role(scram_url, role, password), "SELECT 1") == [(1,)]
    access.revoke(scram_url, role)


def test_a_createrole_loader_that_is_not_superuser_can_grant_and_revoke(pg_url: str, role_names) -> None:
    loader, reader = role_names(pg_url), role_names(pg_url)
    database = make_url(pg_url).database
    execute(pg_url, f'CREATE ROLE "{loader}" LOGIN CREATEROLE', f'GRANT CREATE ON DATABASE "{database}" TO "{loader}"')
    loader_url = as_role(pg_url, loader)
    execute(loader_url, "CREATE SCHEMA shop", "CREATE TABLE shop.items (id int)")
    result = access.grant(loader_url, reader, expires=timedelta(days=1))
    assert result["log_statement"] is False  # a superuser-only setting: reported, not fatal
    assert result["future_tables_of"] == [f"{loader}"]
    execute(loader_url, "CREATE TABLE shop.later (id int)")
    url = as_role(pg_url, reader)
    assert execute(url, "SELECT count(*) FROM shop.items, shop.later") == [(0,)]
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        execute(url, "INSERT INTO shop.items VALUES (1)")
    assert access.revoke(loader_url, reader)["dropped"]
    assert db.verify_db(loader_url) is None
