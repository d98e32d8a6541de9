"""mask: hide characters, optionally leaving a few at either end visible."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..schema.model import ColumnInfo
from .base import Context, Strategy, StrategyParams
from .registry import register


class MaskParams(StrategyParams):
    keep_first: int = Field(0, ge=0, le=64, description="Leading characters left visible.")
    keep_last: int = Field(0, ge=0, le=64, description="Trailing characters left visible.")
    char: str = Field("*", min_length=1, max_length=1, description="Replacement character.")


@register
class Mask(Strategy[MaskParams]):
    """Replace characters with a mask character, optionally keeping a visible head and tail.

    A value too short to hide anything once the visible parts are kept is masked whole,
    so masking never returns a value unchanged. Vectorized: no per-row Python.

    Example: keep_last=4: "4111111111111111" -> "************1111"
    """

    name: ClassVar[str] = "mask"
    keyed: ClassVar[bool] = False
    params_model: ClassVar[type[StrategyParams]] = MaskParams
    example: ClassVar[str] = "phone: {strategy: mask, keep_last: 4}"

    def check(self, column: ColumnInfo) -> str | None:
        if not column.is_text:
            return f"mask works on text but the column is {column.type_name}"
        return super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        first, last, char = self.params.keep_first, self.params.keep_last, self.params.char
        lengths = pc.utf8_length(values)
        too_short = pc.less_equal(lengths, first + last)
        keep_first = pc.if_else(too_short, 0, first)
        keep_last = pc.if_else(too_short, 0, last)
        hidden = pc.subtract(pc.subtract(lengths, keep_first), keep_last)
        head = pc.utf8_slice_codeunits(values, 0, first) if first else pa.repeat("", len(values))
        head = pc.if_else(too_short, "", head)
        tail = pc.utf8_slice_codeunits(values, -last) if last else pa.repeat("", len(values))
        tail = pc.if_else(too_short, "", tail)
        middle = pc.binary_repeat(pa.repeat(char, len(values)), hidden)
        out = pc.binary_join_element_wise(head, middle, tail, "")
        return pc.if_else(pc.is_null(values), pa.nulls(len(values), pa.string()), out)
