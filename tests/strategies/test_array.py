import pyarrow as pa
from strategy_helpers import run

from sanitizer.strategies.array import format_pg_array, parse_pg_array


def test_pg_literal_round_trip() -> None:
    items = ["a", "b c", None, ["x", ""], 'q"uote\\', "NULL"]
    assert parse_pg_array(format_pg_array(items)) == items


def test_elements_map_like_the_column_strategy() -> None:
    out = run({"strategy": "array", "element": "email"}, ["{jane@x.io,NULL}", None])
    assert out == ["{" + run("email", ["jane@x.io"])[0] + ",NULL}", None]


def test_list_columns() -> None:
    out = run({"strategy": "array", "element": "hash"}, [["a", None], None, []], pa.list_(pa.string()))
    assert out[0][1] is None and out[0][0] != "a" and out[1] is None and out[2] == []
