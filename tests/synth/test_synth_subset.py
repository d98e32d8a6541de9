"""Subsets are FK-closed: the selected rows load into an empty copy of the schema with every FK enforced."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from synth_helpers import apply_sql, copy_subset, post_data, schema_copy

from sanitizer.errors import ConfigError
from sanitizer.source.reader import Source
from sanitizer.synth import hints_from_source
from sanitizer.synth.subset import SubsetSpec, plan_subset


def column(url: str, sql: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.exec_driver_sql(sql).scalars())
    finally:
        engine.dispose()


def scalar(url: str, sql: str):
    return column(url, sql)[0]


def test_pagila_five_percent_of_customers_loads_with_constraints_on(pg_server, pg_fixture) -> None:
    source = pg_fixture("pagila")
    copy = schema_copy(pg_server, source)  # the whole schema first: every FK checked as rows arrive
    with Source(make_url(source)) as src:
        plan = plan_subset(src.schema, {"customer": 5}, extra_fks=hints_from_source(src).foreign_keys)
        counts = copy_subset(src, plan, copy)
    assert counts["public.customer"] == 30  # 5% of 599
    # every rental and payment of the chosen customers came along (downward), nothing else of theirs
    id_list = ",".join(map(str, column(copy, "SELECT customer_id FROM customer")))
    assert counts["public.rental"] == scalar(source, f"SELECT count(*) FROM rental WHERE customer_id IN ({id_list})")
    assert counts["public.payment"] == scalar(source, f"SELECT count(*) FROM payment WHERE customer_id IN ({id_list})")
    assert 0 < counts["public.address"] < scalar(source, "SELECT count(*) FROM address")
    assert counts["public.store"] >= 1 and counts["public.staff"] >= 1
    assert counts["public.actor"] == 0  # not reached: rows only pulled in as parents are not followed down
    assert scalar(copy, "SELECT count(*) FROM rental r LEFT JOIN inventory i USING (inventory_id) "
                        "WHERE i.inventory_id IS NULL") == 0


def test_sakila_store_staff_cycle_closes_without_manual_breaks(pg_server, pg_fixture) -> None:
    source = pg_fixture("sakila")
    # store.manager_staff_id and staff.store_id are both NOT NULL and not deferrable: no insert order
    # exists, so tables first, rows, then pg_dump's post-data (every FK added, i.e. validated over all rows)
    copy = schema_copy(pg_server, source, "pre-data")
    with Source(make_url(source)) as src:
        spec = SubsetSpec.model_validate({"start": {"staff": {"where": "staff_id = 1"}},
                                          "follow_children": {"staff": ["store"]}})
        plan = spec.plan(src.schema)
        assert plan.order.hard  # the cycle is reported, not broken by hand
        counts = copy_subset(src, plan, copy)
    apply_sql(copy, post_data(source))
    assert counts["public.staff"] >= 1 and counts["public.store"] >= 1
    assert counts["public.customer"] == 0  # a store kept as a parent does not drag its customers in
    assert scalar(copy, "SELECT count(*) FROM store s JOIN staff m ON m.staff_id = s.manager_staff_id") \
        == counts["public.store"]


def test_sakila_customers_subset_with_all_children(pg_server, pg_fixture) -> None:
    source = pg_fixture("sakila")
    copy = schema_copy(pg_server, source, "pre-data")
    with Source(make_url(source)) as src:
        counts = copy_subset(src, plan_subset(src.schema, {"customer": 10}, seed=3), copy)
    apply_sql(copy, post_data(source))  # fails if any kept row references a row left out
    assert counts["public.customer"] == 60 and counts["public.rental"] > 0


def test_plan_errors_name_the_place() -> None:
    from sanitizer.schema.model import SchemaInfo

    with pytest.raises(ConfigError, match=r"subset\.start\.nope: no table"):
        plan_subset(SchemaInfo("postgresql", "public", {}), {"nope": 5})
    with pytest.raises(ConfigError, match="exactly one of percent or where"):
        SubsetSpec.model_validate({"start": {"t": {}}}).plan(SchemaInfo("postgresql", "public", {}))
