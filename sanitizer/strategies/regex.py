"""regex: rewrite the parts of text matching a pattern (vectorized)."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from ..schema.model import ColumnInfo
from ._util import require_text
from .base import Context, Strategy, StrategyParams
from .registry import register


class RegexParams(StrategyParams):
    pattern: str = Field(..., min_length=1, description="An RE2 regular expression (Arrow's engine; no "
                                                        "look-around or back-references).")
    replacement: str = Field(..., description=r"What each match becomes; \1 .. \9 insert groups.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            pc.replace_substring_regex(pa.array([""]), pattern, "")
        except pa.ArrowInvalid as exc:
            raise ValueError(f"not a valid RE2 pattern: {str(exc).splitlines()[0]}") from None
        return pattern


@register
class Regex(Strategy[RegexParams]):
    """Replace every match of a regular expression, leaving the rest of the text as it is.

    Not keyed and not a guarantee: text without a match comes back unchanged (the leak check
    still watches the column), so use it to strip known shapes, e.g. account numbers in notes.

    Example: pattern='\\d{4}', replacement='####': "PIN 1234" -> "PIN ####"
    """

    name: ClassVar[str] = "regex"
    keyed: ClassVar[bool] = False
    may_keep_value: ClassVar[str] = "text without a match stays"
    params_model: ClassVar[type[StrategyParams]] = RegexParams
    example: ClassVar[str] = r"notes: {strategy: regex, pattern: '\d', replacement: '#'}"

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column) or super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return pc.replace_substring_regex(values, self.params.pattern, self.params.replacement)
