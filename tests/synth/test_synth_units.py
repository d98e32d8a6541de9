"""Pure parts of synth: CHECK parsing, load order through cycles, unique-by-construction values, row counts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sanitizer.errors import ConfigError
from sanitizer.schema.model import ColumnInfo, ForeignKey, SchemaInfo, TableInfo
from sanitizer.synth import synthesize
from sanitizer.synth._checks import Bound, parse_check
from sanitizer.synth._graph import edges, load_order
from sanitizer.synth._plan import normalize_stats, row_counts
from sanitizer.synth._values import Spec, generate_column, kind_of, permutation


@pytest.mark.parametrize(("text", "expected"), [
    ("VALUE >= 1901 AND VALUE <= 2155", {"VALUE": Bound(low=1901, high=2155)}),
    ("(qty > 0)", {"qty": Bound(low=0, low_open=True)}),
    ("x BETWEEN 1 AND 5", {"x": Bound(low=1, high=5)}),
    ("((status)::text = ANY ((ARRAY['a'::character varying, 'b''c'::character varying])::text[]))",
     {"status": Bound(choices=("a", "b'c"))}),
    ("kind IN ('x', 'y')", {"kind": Bound(choices=("x", "y"))}),
    ("payment_date >= '2007-01-01 00:00:00'::timestamp without time zone AND "
     "payment_date < '2007-02-01 00:00:00'::timestamp without time zone",
     {"payment_date": Bound(low="2007-01-01 00:00:00", high="2007-02-01 00:00:00", high_open=True)}),
])
def test_simple_checks_are_read(text: str, expected: dict) -> None:
    assert parse_check(text) == (expected, None)


@pytest.mark.parametrize("text", ["(price > 0) OR (price IS NULL)", "length(name) > 2", "a > b"])
def test_other_checks_are_skipped_with_a_reason(text: str) -> None:
    bounds, why = parse_check(text)
    assert bounds == {} and why


INT = pa.int64()


def col(table: str, name: str, arrow=INT, type_name="INTEGER", **kw) -> ColumnInfo:
    return ColumnInfo(table=table, name=name, type_name=type_name, arrow_type=arrow, **kw)


def tbl(name: str, *columns: ColumnInfo, pk=(), fks=(), unique=()) -> TableInfo:
    return TableInfo(schema=None, name=name, columns=columns, primary_key=pk, foreign_keys=fks, unique_sets=unique)


def cycle_schema(nullable_back: bool) -> SchemaInfo:
    """store <-> staff as in Sakila; the back edge nullable or not."""
    store = tbl("store", col("store", "store_id", nullable=False, unique=True, primary_key=True),
                col("store", "manager_id", nullable=nullable_back), pk=("store_id",),
                fks=(ForeignKey(("manager_id",), "staff", ("staff_id",)),))
    staff = tbl("staff", col("staff", "staff_id", nullable=False, unique=True, primary_key=True),
                col("staff", "store_id", nullable=False),
                col("staff", "boss_id"), pk=("staff_id",),
                fks=(ForeignKey(("store_id",), "store", ("store_id",)),
                     ForeignKey(("boss_id",), "staff", ("staff_id",))))
    return SchemaInfo("postgresql", None, {"store": store, "staff": staff})


def test_a_nullable_edge_opens_the_cycle_and_is_left_null() -> None:
    schema = cycle_schema(nullable_back=True)
    order = load_order(schema.tables, edges(schema))
    assert order.tables == ("store", "staff") and [e.child for e in order.opened] == ["store"] and not order.hard
    result = synthesize(schema, None, 50, seed=1)
    assert result.tables["store"].column("manager_id").null_count == 50
    staff = result.tables["staff"]
    assert pc.all(pc.is_in(staff.column("store_id"), result.tables["store"].column("store_id"))).as_py()
    boss = staff.column("boss_id").to_pylist()
    assert boss[0] is None and all(b is None or b < i + 1 for i, b in enumerate(boss))  # a tree: earlier rows only


def test_a_not_null_cycle_is_filled_after_and_flagged() -> None:
    result = synthesize(cycle_schema(nullable_back=False), None, 20, seed=1)
    (hard,) = result.order.hard
    assert {hard.child, hard.parent} == {"store", "staff"}
    for child, column, parent, key in (("store", "manager_id", "staff", "staff_id"), ("staff", "store_id", "store",
                                                                                     "store_id")):
        values = result.tables[child].column(column)
        assert values.null_count == 0
        assert pc.all(pc.is_in(values, result.tables[parent].column(key))).as_py()
    assert any("NOT NULL cycle" in n for n in result.notes)


def test_link_table_keys_are_distinct_pairs_by_construction() -> None:
    a = tbl("a", col("a", "id", nullable=False), pk=("id",))
    b = tbl("b", col("b", "id", nullable=False), pk=("id",))
    link = tbl("ab", col("ab", "a_id", nullable=False), col("ab", "b_id", nullable=False), pk=("a_id", "b_id"),
               fks=(ForeignKey(("a_id",), "a", ("id",)), ForeignKey(("b_id",), "b", ("id",))))
    schema = SchemaInfo("postgresql", None, {"a": a, "b": b, "ab": link})
    result = synthesize(schema, None, {"a": 300, "b": 400, "ab": 120_000}, seed=3)
    pairs = result.tables["ab"]
    assert pairs.num_rows == 120_000
    assert len(pairs.group_by(["a_id", "b_id"]).aggregate([])) == 120_000
    capped = synthesize(schema, None, {"a": 3, "b": 4, "ab": 100}, seed=3)
    assert capped.tables["ab"].num_rows == 12 and any("12 rows instead of 100" in n for n in capped.notes)


@pytest.mark.parametrize(("arrow", "type_name", "length"), [
    (pa.int64(), "SMALLINT", None), (pa.string(), "VARCHAR(8)", 8), (pa.timestamp("us", tz="UTC"), "TIMESTAMP", None),
    (pa.date32(), "DATE", None), (pa.decimal128(6, 2), "NUMERIC(6, 2)", None), (pa.string(), "UUID", None),
])
def test_unique_columns_are_unique_and_fit(arrow, type_name, length) -> None:
    spec = Spec(where="t.c", kind=kind_of(arrow, type_name), arrow_type=arrow, type_name=type_name,
                max_length=length, unique=True)
    values = generate_column(spec, 20_000, np.random.default_rng(0))
    assert values.type == arrow and values.null_count == 0
    assert pc.count_distinct(values).as_py() == 20_000
    if length:
        assert pc.max(pc.utf8_length(values)).as_py() <= length


def test_bounds_from_checks_hold_and_too_many_distinct_values_are_refused() -> None:
    spec = Spec(where="t.year", kind="int", arrow_type=INT, type_name="INTEGER", bound=Bound(low=1901, high=2155))
    values = generate_column(spec, 10_000, np.random.default_rng(0))
    assert pc.min(values).as_py() >= 1901 and pc.max(values).as_py() <= 2155
    with pytest.raises(ConfigError, match="ask for fewer rows"):
        generate_column(Spec(where="t.year", kind="int", arrow_type=pa.int64(), type_name="INTEGER", unique=True,
                             bound=Bound(low=1901, high=2155)), 1000, np.random.default_rng(0))


def test_permutation_is_a_bijection() -> None:
    picked = permutation(1000, 1000, np.random.default_rng(5))
    assert sorted(picked) == list(range(1000))
    assert len(set(permutation(500, 10**12, np.random.default_rng(5)))) == 500


def test_row_counts_scale_with_snapshot_statistics() -> None:
    schema = cycle_schema(nullable_back=True)
    stats = {"tables": [{"name": "store", "rows": 10, "columns": []}, {"name": "staff", "rows": 1000, "columns": []}]}
    assert row_counts(schema, 100, normalize_stats(stats)) == {"store": 1, "staff": 100}  # largest gets N
    assert row_counts(schema, {"store": 50}, normalize_stats(stats)) == {"store": 50, "staff": 5000}
    assert row_counts(schema, 7, None) == {"store": 7, "staff": 7}
    with pytest.raises(ConfigError, match="no such table"):
        row_counts(schema, {"nope": 3}, None)


def test_same_seed_same_data_other_seed_other_data() -> None:
    schema = cycle_schema(nullable_back=True)
    one, two = synthesize(schema, None, 100, seed=1), synthesize(schema, None, 100, seed=1)
    assert all(one.tables[t].equals(two.tables[t]) for t in one.tables)
    assert not synthesize(schema, None, 100, seed=2).tables["staff"].equals(one.tables["staff"])
