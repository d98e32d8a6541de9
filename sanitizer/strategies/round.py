"""round: coarsen numbers to a step or to significant digits."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from ..schema.model import ColumnInfo
from ._temporal import from_float, is_number, to_float
from .base import Context, Strategy, StrategyParams
from .registry import register


class RoundParams(StrategyParams):
    step: float | None = Field(None, gt=0, description="Round to the nearest multiple of step (e.g. 1000).")
    digits: int | None = Field(None, ge=1, le=15, description="Keep this many significant digits.")

    @model_validator(mode="after")
    def _one(self) -> RoundParams:
        if (self.step is None) == (self.digits is None):
            raise ValueError("give exactly one of step or digits")
        return self


@register
class Round(Strategy[RoundParams]):
    """Round numbers to the nearest multiple of step, or to a number of significant digits.

    Not keyed and not a guarantee that a value changes (52000 with step 1000 stays 52000): use it
    to coarsen measures, with noise where exact values must not survive.

    Example: digits=2: 52381 -> 52000
    """

    name: ClassVar[str] = "round"
    keyed: ClassVar[bool] = False
    may_keep_value: ClassVar[str] = "a value on the step stays"
    params_model: ClassVar[type[StrategyParams]] = RoundParams
    example: ClassVar[str] = "income: {strategy: round, step: 1000}"

    def check(self, column: ColumnInfo) -> str | None:
        if not is_number(column.arrow_type):
            return f"round works on numbers but the column is {column.type_name}; for dates use generalize"
        return super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        x = to_float(values)
        if self.params.step is not None:
            out = np.round(x / self.params.step) * self.params.step
        else:
            with np.errstate(divide="ignore"):
                magnitude = np.floor(np.log10(np.abs(np.where(x == 0, 1, x))))
            factor = 10.0 ** (self.params.digits - 1 - magnitude)
            out = np.round(x * factor) / factor
        return from_float(out, values)
