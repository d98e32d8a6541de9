"""empty: blank text out, keeping the column NOT NULL-safe."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from ..schema.model import ColumnInfo
from ._util import keep_nulls, require_text
from .base import Context, Strategy, StrategyParams
from .registry import register


@register
class Empty(Strategy[StrategyParams]):
    """Replace text with the empty string; NULL stays NULL (use where nullify would break NOT NULL).

    Example: "met at the gym" -> ""
    """

    name: ClassVar[str] = "empty"
    keyed: ClassVar[bool] = False
    example: ClassVar[str] = "middle_name: empty"

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column) or super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return keep_nulls(values, pa.repeat(pa.scalar("", pa.string()), len(values)))
