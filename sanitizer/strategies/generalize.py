"""generalize: dates to the start of their month/quarter/year, numbers to the bottom of their bucket."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..schema.model import ColumnInfo
from ._temporal import from_float, is_number, is_temporal, to_float
from ._util import keep_nulls
from .base import Context, Strategy, StrategyParams
from .registry import register


class GeneralizeParams(StrategyParams):
    to: Literal["month", "quarter", "year"] = Field("month", description="Dates: the period kept.")
    step: float | None = Field(None, gt=0, description="Numbers: the bucket width (ages by 10: step 10).")


@register
class Generalize(Strategy[GeneralizeParams]):
    """Coarsen values: a date becomes the first day of its month/quarter/year, a number its bucket floor.

    Not keyed; a value already at a bucket start (the 1st of a month, 30 with step 10) stays.

    Example: to=year: 1984-07-23 -> 1984-01-01
    """

    name: ClassVar[str] = "generalize"
    keyed: ClassVar[bool] = False
    may_keep_value: ClassVar[str] = "a value at a bucket start stays"
    params_model: ClassVar[type[StrategyParams]] = GeneralizeParams
    example: ClassVar[str] = "signup_date: {strategy: generalize, to: month}"

    def check(self, column: ColumnInfo) -> str | None:
        t = column.arrow_type
        if is_number(t) and self.params.step is None:
            return "generalize on numbers needs step: N (the bucket width)"
        if not (is_number(t) or is_temporal(t)):
            return f"generalize works on dates and numbers but the column is {column.type_name}"
        return super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        if is_temporal(values.type):
            out = pc.floor_temporal(values, unit=self.params.to)
            return keep_nulls(values, pc.cast(out, values.type))
        step = self.params.step or 1.0
        return from_float(np.floor(to_float(values) / step) * step, values)
