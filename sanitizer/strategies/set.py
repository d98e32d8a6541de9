"""set: replace every value with one constant."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from .base import Context, Strategy, StrategyParams
from .registry import register


class SetParams(StrategyParams):
    value: Any = Field(..., description="The constant every non-NULL value becomes (NULL stays NULL).")
    keep_nulls: bool = Field(True, description="Leave NULLs as NULL; false writes the constant there too.")


@register
class Set(Strategy[SetParams]):
    """Replace every value with one constant.

    Example: value="redacted": "4 Elm St" -> "redacted"
    """

    name: ClassVar[str] = "set"
    keyed: ClassVar[bool] = False
    may_keep_value: ClassVar[str] = "the input may be the constant"
    params_model: ClassVar[type[StrategyParams]] = SetParams
    example: ClassVar[str] = "password_hash: {strategy: set, value: '$2b$12$knownhashforstaging'}"

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        constant = pa.repeat(pa.scalar(self.params.value), len(values))
        if self.params.keep_nulls and values.null_count:
            constant = pc.if_else(pc.is_null(values), pa.nulls(len(values), constant.type), constant)
        return constant
