"""Shared helpers for strategy tests: build a strategy from a rules value, run it on a column."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sanitizer.keys import Keyring
from sanitizer.rules import build_strategy
from sanitizer.schema.model import ColumnInfo
from sanitizer.strategies.base import Context, Strategy

KEY = "k" * 20
OTHER_KEY = "z" * 20
STRING = pa.string()


def column(arrow_type: pa.DataType = STRING, **kw: Any) -> ColumnInfo:
    type_name = kw.pop("type_name", "TEXT" if pa.types.is_string(arrow_type) else str(arrow_type).upper())
    return ColumnInfo(table="t", name="c", type_name=type_name, arrow_type=arrow_type, **kw)


def context(arrow_type: pa.DataType = STRING, key: str = KEY, original: dict | None = None,
            output: dict | None = None, **kw: Any) -> Context:
    return Context(Keyring(key), column(arrow_type, **kw), original or {}, output or {})


def strategy(rule: Any) -> Strategy:
    return build_strategy(rule, "test")


def run(rule: Any, values: list[Any], arrow_type: pa.DataType = STRING, key: str = KEY,
        **kw: Any) -> list[Any]:
    """Apply a rule to Python values; return Python values."""
    ctx = context(arrow_type, key=key, **kw)
    return strategy(rule).apply(pa.array(values, arrow_type), ctx).to_pylist()
