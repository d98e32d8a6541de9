"""date_shift: move dates by a keyed number of days, alike for one entity when seeded."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from pydantic import Field

from ..schema.model import ColumnInfo
from ._temporal import add_days, is_temporal, nonzero_offsets
from ._util import keep_nulls, row_hashes
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register


class DateShiftParams(StrategyParams):
    days: int = Field(..., ge=1, le=36_500, description="Shift by up to this many days either way (never 0).")
    seed_columns: list[str] = Field(
        default_factory=list,
        description="Columns whose ORIGINAL values pick the shift (e.g. [patient_id]), so every date of "
        "one entity moves by the same amount and intervals between them survive. Without them each "
        "date value gets its own shift.",
    )


@register
class DateShift(Strategy[DateShiftParams]):
    """Shift dates and timestamps by a keyed whole number of days in [-days, days], never 0.

    With seed_columns the shift comes from those columns' original values, and the default domain
    leaves out the column, so admitted_on and discharged_on of one patient shift alike.

    Example: days=30, seed_columns=[patient_id]: 2023-03-14 -> 2023-02-26
    """

    name: ClassVar[str] = "date_shift"
    perturbs: ClassVar[bool] = True
    params_model: ClassVar[type[StrategyParams]] = DateShiftParams
    example: ClassVar[str] = "admitted_on: {strategy: date_shift, days: 30, seed_columns: [patient_id]}"

    def check(self, column: ColumnInfo) -> str | None:
        if not is_temporal(column.arrow_type):
            return f"date_shift works on dates and timestamps but the column is {column.type_name}"
        return super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        days = self.params.days
        if not self.params.seed_columns:
            return map_distinct(values, lambda d: add_days(d, nonzero_offsets(ctx.uint64(self.domain(), d), days)))
        hashes = row_hashes(ctx, self.domain(), self.params.seed_columns, self.name)
        return keep_nulls(values, add_days(values, nonzero_offsets(hashes, days)))
