import numpy as np
import pyarrow as pa
import pytest
from strategy_helpers import run

from sanitizer.errors import ConfigError
from sanitizer.rules import build_strategy


def test_small_range_is_a_derangement() -> None:
    rule = {"strategy": "int_permute", "min": -5, "max": 5}
    out = run(rule, [*range(-5, 6), None], pa.int64())
    assert sorted(out[:-1]) == list(range(-5, 6)) and out[-1] is None
    assert all(a != b for a, b in zip(range(-5, 6), out, strict=False))


def test_same_domain_maps_foreign_keys_like_their_primary_key() -> None:
    pk = {"strategy": "int_permute", "max": 10**6, "domain": "customer_id"}
    assert run(pk, [7, 8], pa.int64()) == run(dict(pk), [7, 8], pa.int64())


def test_full_int64_range_works() -> None:
    rule = {"strategy": "int_permute", "min": -(2**63), "max": 2**63 - 1}
    out = run(rule, [-(2**63), 0, 2**63 - 1], pa.int64())
    assert len(set(out)) == 3


def test_value_outside_the_range_names_the_column_not_the_value() -> None:
    with pytest.raises(ConfigError, match=r"t\.c: int_permute got 1 value\(s\) outside \[1, 100\]") as exc:
        run({"strategy": "int_permute", "min": 1, "max": 100}, [5, 123456], pa.int64())
    assert "123456" not in str(exc.value)


def test_max_must_exceed_min() -> None:
    with pytest.raises(ConfigError, match=r"test\.max: must be greater than min"):
        build_strategy({"strategy": "int_permute", "min": 5, "max": 5}, "test")


def test_roughly_uniform_not_an_offset() -> None:
    out = np.array(run({"strategy": "int_permute", "min": 1, "max": 1000}, list(range(1, 101)), pa.int64()))
    assert len(set(np.diff(out))) > 50
