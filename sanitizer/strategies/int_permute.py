"""int_permute: a keyed bijection of an integer range, for integer primary and foreign keys."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, ValidationInfo, field_validator

from ..errors import ConfigError
from ..schema.model import ColumnInfo
from ._feistel import permutation
from ._util import keep_nulls
from .base import Context, Strategy, StrategyParams
from .registry import register

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class IntPermuteParams(StrategyParams):
    min: int = Field(1, ge=INT64_MIN, le=INT64_MAX, description="Smallest value of the range (inclusive).")
    max: int = Field(2**31 - 1, ge=INT64_MIN, le=INT64_MAX,
                     description="Largest value of the range (inclusive); every value must lie in [min, max].")

    @field_validator("max")
    @classmethod
    def _above_min(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min")
        if low is not None and value <= low:
            raise ValueError(f"must be greater than min ({low})")
        return value


@register
class IntPermute(Strategy[IntPermuteParams]):
    """Map integers to other integers of [min, max] by a keyed permutation: unique by construction.

    A Feistel network with cycle-walking over the range, turned into a permutation with no fixed
    point, so no id keeps its value and no two ids meet. Give referencing columns the same domain so
    foreign keys follow their primary key. The round function is a keyed 64-bit mixer, fast but not
    a vetted block cipher: it hides ids from casual inspection, not from a cryptanalyst with many pairs.

    Example: min=1, max=1000000: 42 -> 731905
    """

    name: ClassVar[str] = "int_permute"
    params_model: ClassVar[type[StrategyParams]] = IntPermuteParams
    can_be_unique: ClassVar[bool] = True
    injective: ClassVar[bool] = True
    example: ClassVar[str] = "customer_id: {strategy: int_permute, min: 1, max: 99999999, domain: customer_id}"

    def check(self, column: ColumnInfo) -> str | None:
        if not pa.types.is_integer(column.arrow_type):
            return f"int_permute works on integer columns but the column is {column.type_name}"
        return None

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        lo, hi = self.params.min, self.params.max
        ints = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
        valid = ~pc.is_null(values).to_numpy(zero_copy_only=False)
        ints = np.where(valid, ints, lo) if values.null_count else ints
        outside = int(np.count_nonzero((ints < lo) | (ints > hi)))
        if outside:
            raise ConfigError(f"{ctx.column.qualified}: int_permute got {outside} value(s) outside "
                              f"[{lo}, {hi}]; widen min/max to cover every value")
        with np.errstate(over="ignore"):
            offset = ints.astype(np.uint64) - np.uint64(lo & (2**64 - 1))
            mixed = permutation(ctx, self.domain(), hi - lo + 1).derange(offset)
            out = (mixed + np.uint64(lo & (2**64 - 1))).astype(np.int64)
        return keep_nulls(values, pa.array(out, pa.int64()))
