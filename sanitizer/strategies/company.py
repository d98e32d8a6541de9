"""company: a fake company name in place of the value."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from pydantic import Field, field_validator

from ..schema.model import ColumnInfo
from ._names import names
from ._util import known_locale, pick, require_text
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register


class CompanyParams(StrategyParams):
    locale: str = Field("en_US", description="Faker locale of the company names, e.g. de_DE.")

    @field_validator("locale")
    @classmethod
    def _known(cls, locale: str) -> str:
        return known_locale(locale)


@register
class Company(Strategy[CompanyParams]):
    """Replace the value with a fake company name picked by a keyed hash; never the input itself.

    Example: "Initech LLC" -> "Hamilton, Ortiz and Reyes"
    """

    name: ClassVar[str] = "company"
    params_model: ClassVar[type[StrategyParams]] = CompanyParams
    example: ClassVar[str] = "employer: {strategy: company, locale: en_GB}"

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column) or super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        pool = names("company", self.params.locale)
        return map_distinct(values, lambda d: pick(pool, ctx.uint64(self.domain(), d), avoid=d), elementwise=True)
