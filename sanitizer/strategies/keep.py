"""keep: copy the value unchanged."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from .base import Context, Strategy, StrategyParams
from .registry import register


@register
class Keep(Strategy[StrategyParams]):
    """Copy the value unchanged; for columns that hold no personal data.

    Example: "Rock" -> "Rock"
    """

    name: ClassVar[str] = "keep"
    keyed: ClassVar[bool] = False
    may_keep_value: ClassVar[str] = "copies by design"
    can_be_unique: ClassVar[bool] = True
    changes_values: ClassVar[bool] = False
    copies_input: ClassVar[bool] = True
    example: ClassVar[str] = "genre: keep   # a product category, not about a person"

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return values
