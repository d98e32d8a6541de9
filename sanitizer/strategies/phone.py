"""phone: a keyed fake phone number in the same format, keeping a leading +country code."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema.model import ColumnInfo
from ._digits import replace_digits
from ._util import require_text
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

# ITU-T E.164 country codes: 1 and 7 are one digit, these are two, all others three
TWO_DIGIT_CODES = ["20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
                   "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
                   "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"]


@register
class Phone(Strategy[StrategyParams]):
    """Replace a phone number's digits keyed, keeping its format, separators and +country code.

    The country code after a leading "+" is kept (its length from the separator, or from the
    E.164 code table when the number is written without one); every other digit goes through the
    same bijection as `digits`, so distinct numbers stay distinct and none comes back unchanged.

    Example: "+44 20 7946 0958" -> "+44 73 1180 2246"
    """

    name: ClassVar[str] = "phone"
    can_be_unique: ClassVar[bool] = True
    injective: ClassVar[bool] = True
    example: ClassVar[str] = "mobile: phone"

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        domain = self.domain()
        return map_distinct(values, lambda d: replace_digits(d, ctx, domain, keep_leading=country_digits(d)))


def country_digits(values: pa.Array) -> np.ndarray:
    """How many leading digits are a country code (0 unless the value starts with '+')."""
    run = pc.struct_field(pc.extract_regex(values, r"^\s*\+(?P<run>\d*)(?P<next>.?)"), [0])
    separated = pc.struct_field(pc.extract_regex(values, r"^\s*\+(?P<run>\d*)(?P<next>.?)"), [1])
    run_len = pc.fill_null(pc.utf8_length(run), 0).to_numpy(zero_copy_only=False)
    has_sep = pc.fill_null(pc.not_equal(separated, ""), False).to_numpy(zero_copy_only=False)
    first = pc.utf8_slice_codeunits(run, 0, 1)
    one = pc.fill_null(pc.is_in(first, pa.array(["1", "7"])), False).to_numpy(zero_copy_only=False)
    two = pc.fill_null(pc.is_in(pc.utf8_slice_codeunits(run, 0, 2), pa.array(TWO_DIGIT_CODES)),
                       False).to_numpy(zero_copy_only=False)
    by_table = np.where(one, 1, np.where(two, 2, 3))
    code = np.where(has_sep & (run_len <= 3), run_len, by_table)
    digits = pc.utf8_length(pc.replace_substring_regex(values, r"\D", "")).to_numpy(zero_copy_only=False)
    code = np.minimum(code, run_len)
    return np.where(digits > code, code, 0)  # nothing left to replace: replace the code too
