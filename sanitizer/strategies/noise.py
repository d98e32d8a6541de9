"""noise: move numbers and dates by a keyed random amount."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from ..schema.model import ColumnInfo
from ._temporal import add_days, from_float, is_number, is_temporal, nonzero_offsets, to_float, unit_interval
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register


class NoiseParams(StrategyParams):
    relative: float | None = Field(None, gt=0, le=10, description="Numbers: move by up to this share of the "
                                                                  "value (0.1 = +-10%).")
    absolute: float | None = Field(None, gt=0, description="Move by up to this amount; for dates, days.")

    @model_validator(mode="after")
    def _one(self) -> NoiseParams:
        if (self.relative is None) == (self.absolute is None):
            raise ValueError("give exactly one of relative or absolute")
        return self


@register
class Noise(Strategy[NoiseParams]):
    """Add keyed noise: numbers move by up to relative*|x| or absolute, dates by up to absolute days.

    The amount depends only on (key, value), so the same salary gets the same noise everywhere.
    Integers and dates always move by at least 1; with relative noise a 0 stays 0.

    Example: relative=0.1: 52000 -> 49413
    """

    name: ClassVar[str] = "noise"
    may_keep_value: ClassVar[str] = "relative noise keeps 0"
    perturbs: ClassVar[bool] = True
    params_model: ClassVar[type[StrategyParams]] = NoiseParams
    example: ClassVar[str] = "salary: {strategy: noise, relative: 0.1}"

    def check(self, column: ColumnInfo) -> str | None:
        t = column.arrow_type
        if is_temporal(t):
            if self.params.absolute is None or self.params.absolute < 1:
                return "noise on dates needs absolute: N (days, at least 1)"
        elif not is_number(t):
            return f"noise works on numbers and dates but the column is {column.type_name}"
        return super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return map_distinct(values, lambda d: self._noisy(d, ctx))

    def _noisy(self, distinct: pa.Array, ctx: Context) -> pa.Array:
        hashes = ctx.uint64(self.domain(), distinct)
        if is_temporal(distinct.type):
            span = max(1, int(self.params.absolute or 1))
            return add_days(distinct, nonzero_offsets(hashes, span))
        x = to_float(distinct)
        u = unit_interval(hashes) * 2 - 1
        scale = self.params.absolute if self.params.absolute is not None else self.params.relative * np.abs(x)
        delta = u * scale
        if pa.types.is_integer(distinct.type):
            delta = np.rint(delta)
            delta = np.where((delta == 0) & (scale > 0), np.where(u < 0, -1.0, 1.0), delta)
        return from_float(x + delta, distinct)
