"""Strategies inside values (json paths, array elements): build them from rules, apply them to leaves."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..errors import ConfigError
from ..schema.model import ColumnInfo
from .base import Context, Strategy

ARROW_OF = {str: pa.string(), int: pa.int64(), float: pa.float64()}


def build_nested(value: Any, where: str) -> Strategy:
    """A strategy from a nested rules value; row-level strategies make no sense inside one cell."""
    from ..rules import build_strategy  # lazily: rules imports the registry, which imports us

    try:
        strategy = build_strategy(value, where)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    if strategy.depends_on() or getattr(strategy.params, "seed_columns", None):
        raise ValueError(f"{where}: {strategy.name} reads other columns of the row, which a nested value "
                         "does not have")
    return strategy


def apply_to_leaves(strategy: Strategy, leaves: list[Any], ctx: Context, label: str) -> list[Any]:
    """Run strategy over Python scalars, one Arrow batch per scalar type; results in the same order."""
    out: list[Any] = list(leaves)
    by_type: dict[type, list[int]] = {}
    for i, leaf in enumerate(leaves):
        if leaf is not None and type(leaf) in ARROW_OF:
            by_type.setdefault(type(leaf), []).append(i)
    for kind, index in by_type.items():
        arrow_type = ARROW_OF[kind]
        column = ColumnInfo(table=ctx.column.table, name=f"{ctx.column.name}{label}",
                            type_name=f"{ctx.column.type_name} {kind.__name__}", arrow_type=arrow_type)
        values = [leaves[i] for i in index]
        if strategy.check(column) is not None and kind is not str:
            column = ColumnInfo(table=column.table, name=column.name, type_name=column.type_name,
                                arrow_type=pa.string())
            values = [str(v) for v in values]
        problem = strategy.check(column)
        if problem:
            raise ConfigError(f"{column.qualified}: {problem}")
        nested_ctx = Context(ctx.keyring, column)
        result = strategy.apply(pa.array(values, column.arrow_type), nested_ctx).to_pylist()
        for i, value in zip(index, result, strict=True):
            out[i] = value
    return out
