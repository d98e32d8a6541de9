"""Strategies that map each value on its own skip deduplicating distinct batches: same output either way."""

from __future__ import annotations

import pyarrow as pa
import pytest
from strategy_helpers import context, strategy

from sanitizer.strategies import base

ELEMENTWISE_RULES = [
    {"strategy": "fake", "kind": "street_address"},
    {"strategy": "fake", "kind": "email", "unique": True},
    {"strategy": "hash", "length": 12},
    {"strategy": "email"},
    {"strategy": "email", "unique": True},
    {"strategy": "address"},
    {"strategy": "company"},
    {"strategy": "uuid"},
]


@pytest.mark.parametrize("rule", ELEMENTWISE_RULES, ids=lambda r: "-".join(map(str, r.values())))
def test_distinct_batches_give_what_deduplicated_ones_give(rule, monkeypatch) -> None:
    values = pa.array([f"{i} Main Street, person{i}@example.org" for i in range(5000)])
    calls = []
    monkeypatch.setattr(base, "_looks_distinct", lambda v: calls.append(len(v)) or True)
    whole = strategy(rule).apply(values, context())
    assert calls, "the strategy did not take the whole-batch path"
    monkeypatch.setattr(base, "_looks_distinct", lambda v: False)
    deduplicated = strategy(rule).apply(values, context())
    assert whole.to_pylist() == deduplicated.to_pylist()


def test_repeating_or_null_holding_batches_are_deduplicated() -> None:
    seen = []

    def fn(distinct: pa.Array) -> pa.Array:
        seen.append(len(distinct))
        return distinct

    repeating = pa.array([f"name{i % 50}" for i in range(5000)])
    assert base.map_distinct(repeating, fn, elementwise=True).equals(repeating)
    with_nulls = pa.array([None if i % 7 == 0 else f"v{i}" for i in range(5000)])
    assert base.map_distinct(with_nulls, fn, elementwise=True).to_pylist() == with_nulls.to_pylist()
    distinct = pa.array([f"v{i}" for i in range(5000)])
    base.map_distinct(distinct, fn, elementwise=True)
    assert seen == [50, 5000 - 715, 5000]
