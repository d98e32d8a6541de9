"""choice: one of a fixed list of values, picked by a keyed hash."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register


class ChoiceParams(StrategyParams):
    values: list[Any] = Field(..., min_length=2, description="The values to pick from (one type, no NULL).")
    weights: list[float] | None = Field(None, description="Relative weight of each value (same length, >= 0).")

    @model_validator(mode="after")
    def _consistent(self) -> ChoiceParams:
        if any(v is None for v in self.values):
            raise ValueError("values must not contain null; use nullify for NULLs")
        try:
            pa.array(self.values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise ValueError("values must all have one type") from None
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"weights has {len(self.weights)} entries but values has {len(self.values)}")
            if min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 with a positive total")
        return self


@register
class Choice(Strategy[ChoiceParams]):
    """Replace the value with one of `values` (optionally weighted), picked by a keyed hash.

    The same input always gets the same pick; an input equal to its pick takes the next value,
    so a listed value never maps to itself.

    Example: values=[bronze, silver, gold]: "platinum" -> "silver"
    """

    name: ClassVar[str] = "choice"
    params_model: ClassVar[type[StrategyParams]] = ChoiceParams
    example: ClassVar[str] = "tier: {strategy: choice, values: [bronze, silver, gold], weights: [6, 3, 1]}"

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        pool = pa.array(self.params.values)
        weights = np.asarray(self.params.weights or [1.0] * len(pool), dtype=np.float64)
        bounds = np.cumsum(weights) / weights.sum()
        positive = np.flatnonzero(weights > 0)
        # where a pick equals the input, take the next value that has a weight
        following = positive[np.searchsorted(positive, np.arange(len(pool)), side="right") % len(positive)]

        def pick(distinct: pa.Array) -> pa.Array:
            u = (ctx.uint64(self.domain(), distinct) >> np.uint64(11)).astype(np.float64) / 2.0**53
            index = np.minimum(np.searchsorted(bounds, u, side="right"), len(pool) - 1)
            picked = pool.take(pa.array(index))
            try:
                same = pc.fill_null(pc.equal(picked, pc.cast(distinct, pool.type)), False)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return picked
            same = same.to_numpy(zero_copy_only=False)
            return pool.take(pa.array(np.where(same, following[index], index))) if same.any() else picked

        return map_distinct(values, pick)
