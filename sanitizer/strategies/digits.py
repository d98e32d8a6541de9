"""digits: replace each digit keyed, keeping separators, letters and length (cards, account numbers)."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from pydantic import Field

from ..schema.model import ColumnInfo
from ._digits import replace_digits
from ._util import require_text
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register


class DigitsParams(StrategyParams):
    luhn: bool = Field(False, description="Rewrite the last digit so the result passes the Luhn check "
                                          "(card numbers), so validating application code still accepts it.")


@register
class Digits(Strategy[DigitsParams]):
    """Replace every digit keyed and keep all other characters where they are.

    The digits of a value, read as one number of d digits, go through a keyed permutation of
    [0, 10**d) with no fixed point (Feistel, cycle-walking), so the mapping is a bijection per shape:
    distinct inputs stay distinct and a value with a digit never comes back unchanged. With luhn the
    last digit becomes a check digit; uniqueness then holds for inputs whose last digit already is one
    (valid card numbers), since only the other digits are permuted. Values with no digit pass through.

    Example: luhn=true: "4111 1111 1111 1111" -> "3056 2718 4407 9925"
    """

    name: ClassVar[str] = "digits"
    params_model: ClassVar[type[StrategyParams]] = DigitsParams
    can_be_unique: ClassVar[bool] = True
    example: ClassVar[str] = "card_number: {strategy: digits, luhn: true}"

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column)

    def needs_ledger(self) -> bool:
        """A bijection per shape, unless luhn rewrites the last digit (two inputs may then meet)."""
        return self.params.luhn

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        domain = self.domain()
        return map_distinct(values, lambda d: replace_digits(d, ctx, domain, luhn=self.params.luhn))
