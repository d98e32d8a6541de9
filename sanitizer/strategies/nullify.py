"""nullify: replace every value with NULL."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from ..schema.model import ColumnInfo
from .base import Context, Strategy, StrategyParams
from .registry import register


@register
class Nullify(Strategy[StrategyParams]):
    """Replace every value with NULL (named so because YAML reads a bare `null` as nothing).

    Example: "call me on 555-0100" -> NULL
    """

    name: ClassVar[str] = "nullify"
    keyed: ClassVar[bool] = False
    example: ClassVar[str] = "notes: nullify"

    def check(self, column: ColumnInfo) -> str | None:
        if not column.nullable:
            return "the column is NOT NULL; use set (a constant) or fake instead of nullify"
        return super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return pa.nulls(len(values), type=values.type)
