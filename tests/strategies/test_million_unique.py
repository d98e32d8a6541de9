"""Unique-capable strategies keep 1,000,000 distinct inputs distinct (a few seconds each)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from strategy_helpers import context, strategy

N = 1_000_000
TEXT_INPUTS = pa.array([f"user{i}@example.com" for i in range(N)])


@pytest.mark.parametrize("rule", [
    "hash", "uuid", {"strategy": "email", "unique": True}, {"strategy": "fake", "kind": "email", "unique": True},
    {"strategy": "username", "unique": True},
])
def test_text_strategies_keep_a_million_distinct(rule: object) -> None:
    out = strategy(rule).apply(TEXT_INPUTS, context(unique=True))
    assert pc.count_distinct(out).as_py() == N


@pytest.mark.parametrize("rule, values", [
    ("digits", pa.array([f"4{i:015d}" for i in range(N)])),
    ({"strategy": "digits", "luhn": True}, pa.array([f"{i:07d}{0}" for i in range(N)])),
    ("phone", pa.array([f"+44 20 {i // 10000:04d} {i % 10000:04d}" for i in range(N)])),
])
def test_digit_strategies_keep_a_million_distinct(rule: object, values: pa.Array) -> None:
    out = strategy(rule).apply(values, context(unique=True))
    assert pc.count_distinct(out).as_py() == N
    assert not pc.any(pc.equal(out, values)).as_py()


def test_int_permute_is_a_bijection_on_a_million() -> None:
    rule = {"strategy": "int_permute", "min": 1, "max": N}
    values = pa.array(np.arange(1, N + 1))
    out = strategy(rule).apply(values, context(pa.int64(), unique=True)).to_numpy()
    assert np.array_equal(np.sort(out), np.arange(1, N + 1))  # a permutation of the range itself
    assert not (out == values.to_numpy()).any()
