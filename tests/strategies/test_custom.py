import pyarrow as pa
import pyarrow.compute as pc
import pytest
from strategy_helpers import run, strategy

from sanitizer.errors import ConfigError


def upper(values: pa.Array) -> pa.Array:
    return pc.utf8_upper(values)


def keyed(values: pa.Array, ctx: object) -> pa.Array:
    return pa.array([str(h) for h in ctx.uint64("custom", values)])


def wrong_length(values: pa.Array) -> pa.Array:
    return values[:0]


def test_function_with_and_without_context() -> None:
    assert run({"strategy": "custom", "function": "test_custom:upper"}, ["ab", None]) == ["AB", None]
    assert run({"strategy": "custom", "function": "test_custom:keyed"}, ["ab"])[0].isdigit()


def test_bad_paths_are_named() -> None:
    with pytest.raises(ConfigError, match=r"'nope\.mod:f': cannot import module 'nope\.mod'"):
        strategy({"strategy": "custom", "function": "nope.mod:f"})
    with pytest.raises(ConfigError, match="expected 'module:function'"):
        strategy({"strategy": "custom", "function": "justaname"})


def test_wrong_length_is_an_error() -> None:
    with pytest.raises(ConfigError, match="must return a pyarrow Array of 1 values"):
        run({"strategy": "custom", "function": "test_custom:wrong_length"}, ["a"])
