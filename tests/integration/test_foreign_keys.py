"""Foreign keys follow their key: mask a primary key and every reference to it gets the same mapping."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from dbs import query_rows as scalar_rows

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "chinook.yaml"




def masked_keys_rules(tmp_path: Path, keep_reference: bool = False) -> Path:
    text = RULES.read_text().replace("      customer_id: keep        # surrogate key",
                                     "      customer_id: {strategy: int_permute, min: 1, max: 1000000}")
    if not keep_reference:
        text = text.replace("      customer_id: keep\n      invoice_date", "      invoice_date")
    path = tmp_path / "keys.yaml"
    path.write_text(text)
    return path


def test_masked_primary_key_is_followed_by_its_references(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    source = pg_fixture("chinook")
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(masked_keys_rules(tmp_path)))
    assert result.returncode == 0, result.stderr
    before = scalar_rows(source, "select customer_id from customer order by 1")
    after = scalar_rows(pg_url, "select customer_id from customer order by 1")
    assert len(after) == len(before) and set(after) != set(before)
    # every invoice still joins to the same (renumbered) customer: the per-customer invoice totals survive
    totals = "select c.email is not null, count(*), sum(i.total) from invoice i join customer c using (customer_id) " \
             "group by 1"
    assert scalar_rows(pg_url, totals) == scalar_rows(source, totals)
    per_customer = "select count(*), sum(total) from invoice group by customer_id order by 1, 2"
    assert scalar_rows(pg_url, per_customer) == scalar_rows(source, per_customer)
    orphans = "select count(*) from invoice i left join customer c using (customer_id) where c.customer_id is null"
    assert scalar_rows(pg_url, orphans) == [(0,)]


def test_a_conflicting_rule_on_a_reference_is_a_config_error(cli, pg_fixture, tmp_path: Path) -> None:
    source = pg_fixture("chinook")
    rules = masked_keys_rules(tmp_path, keep_reference=True)
    result = cli("rules", "check", str(rules), "--source", source)
    assert result.returncode == 2
    assert "tables.invoice.columns.customer_id: public.invoice.customer_id references public.customer.customer_id, " \
           "which is masked with int_permute" in result.stderr


def keep_all_rules(url: str, overrides: dict[str, dict[str, object]], drop: set[str]) -> str:
    """A rules file keeping every column of the database (phones masked: the pattern check would stop the
    run), except the given overrides and dropped rules."""
    import yaml

    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    tables = {}
    for table in inspector.get_table_names():
        columns = {}
        for column in inspector.get_columns(table):
            key = f"{table}.{column['name']}"
            if key in drop:
                continue
            default = {"strategy": "phone"} if re.search("phone|fax", column["name"]) else "keep"
            columns[column["name"]] = overrides.get(table, {}).get(column["name"], default)
        tables[table] = {"columns": columns}
    engine.dispose()
    return yaml.safe_dump({"version": 1, "tables": tables})


def test_text_key_masked_with_a_token_is_followed_across_tables(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    """Northwind's customer key is text made from the company name ('ALFKI'): it leaks, so it is hashed,
    and orders.customer_id (no rule of its own) follows it."""
    source = pg_fixture("northwind")
    engine = sa.create_engine(source)  # widen the key first: a 5-character key cannot hold a unique token
    with engine.begin() as conn:
        for table in ("customers", "orders", "customer_customer_demo"):
            conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN customer_id TYPE varchar(20)")
    engine.dispose()
    rules = tmp_path / "nw.yaml"
    company = {"strategy": "fake", "kind": "company"}
    rules.write_text(keep_all_rules(source, {"customers": {"customer_id": {"strategy": "hash", "length": 14,
                                                                           "alphabet": "base32"},
                                                           "company_name": company},
                                             "orders": {"ship_name": company}},
                                    drop={"orders.customer_id", "customer_customer_demo.customer_id"}))
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    assert not set(scalar_rows(pg_url, "select customer_id from customers")) & \
        set(scalar_rows(source, "select customer_id from customers"))
    per_customer = "select count(*) from orders group by customer_id order by 1"
    assert scalar_rows(pg_url, per_customer) == scalar_rows(source, per_customer)
    orphans = "select count(*) from orders o left join customers c using (customer_id) where c.customer_id is null"
    assert scalar_rows(pg_url, orphans) == scalar_rows(source, orphans)
