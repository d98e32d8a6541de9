"""date_of_birth: a keyed new birth date in the same age band."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..schema.model import ColumnInfo
from ._temporal import days_of, from_days, is_temporal
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

EPOCH = dt.date(1970, 1, 1)


class DateOfBirthParams(StrategyParams):
    band_years: int = Field(10, ge=1, le=100, description="Width of the age bands kept (10: 30-39, 40-49...).")
    reference_date: dt.date = Field(dt.date(2025, 1, 1), description="The day ages are counted on; fixed, so "
                                                                      "output does not change with the calendar.")


@register
class DateOfBirth(Strategy[DateOfBirthParams]):
    """Replace a birth date with a keyed date whose age on reference_date falls in the same band.

    Ages in [30, 40) stay in [30, 40) with band_years 10, so age statistics survive while the
    exact date does not; the new date is never the original.

    Example: band_years=10: 1987-05-02 -> 1993-11-17 (both 30-39 on 2025-01-01)
    """

    name: ClassVar[str] = "date_of_birth"
    params_model: ClassVar[type[StrategyParams]] = DateOfBirthParams
    example: ClassVar[str] = "born_on: {strategy: date_of_birth, band_years: 10}"

    def check(self, column: ColumnInfo) -> str | None:
        if not is_temporal(column.arrow_type):
            return f"date_of_birth works on dates but the column is {column.type_name}"
        return super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return map_distinct(values, lambda d: self._redraw(d, ctx))

    def _redraw(self, distinct: pa.Array, ctx: Context) -> pa.Array:
        ref, band_years = self.params.reference_date, self.params.band_years
        as_date = pc.cast(distinct, pa.date32()) if not pa.types.is_date32(distinct.type) else distinct
        year = pc.year(as_date).to_numpy(zero_copy_only=False)
        later = (pc.month(as_date).to_numpy(zero_copy_only=False) * 100
                 + pc.day(as_date).to_numpy(zero_copy_only=False)) > ref.month * 100 + ref.day
        age = ref.year - year - later.astype(np.int64)
        band = np.floor_divide(age, band_years)
        lo = np.empty(len(band), np.int64)
        hi = np.empty(len(band), np.int64)
        for b in np.unique(band):  # a handful of bands, not rows
            rows = band == b
            # born after the (b+1)*band_years-th birthday cut-off, on or before the b*band_years-th
            lo[rows] = (_years_before(ref, int(b + 1) * band_years) - EPOCH).days + 1
            hi[rows] = (_years_before(ref, int(b) * band_years) - EPOCH).days
        span = hi - lo + 1
        offset = (ctx.uint64(self.domain(), distinct) % span.astype(np.uint64)).astype(np.int64)
        original = days_of(as_date)
        new = lo + offset
        new = np.where(new == original, lo + (offset + 1) % span, new)
        return from_days(new, distinct)


def _years_before(ref: dt.date, years: int) -> dt.date:
    try:
        return ref.replace(year=ref.year - years)
    except ValueError:  # 29 February in a non-leap year
        return ref.replace(year=ref.year - years, day=28)
