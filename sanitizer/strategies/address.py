"""address: fake address parts (street, city, postcode, ...) in place of the value."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar, Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from ..schema.model import ColumnInfo
from ._names import names
from ._util import known_locale, pick, require_text
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

# field -> Faker kind; one table so `rules show address` and the code agree
KINDS = {
    "street": "street_address",
    "building_number": "building_number",
    "city": "city",
    "postcode": "postcode",
    "state": "state",
    "country": "country",
    "full": "address",
}
Field_ = Literal["street", "building_number", "city", "postcode", "state", "country", "full"]


class AddressParams(StrategyParams):
    field: Field_ = Field("full", description="Which part of an address the column holds.")
    locale: str = Field("en_US", description="Faker locale, so postcodes and cities look local, e.g. fr_FR.")

    @field_validator("locale")
    @classmethod
    def _known(cls, locale: str) -> str:
        return known_locale(locale)


@register
class Address(Strategy[AddressParams]):
    """Replace an address or one part of it with a local-looking fake, picked by a keyed hash.

    Full addresses come on one line ("street, city postcode"). Never returns the input itself.

    Example: field=city: "Springfield" -> "East Lauraberg"
    """

    name: ClassVar[str] = "address"
    params_model: ClassVar[type[StrategyParams]] = AddressParams
    example: ClassVar[str] = "city: {strategy: address, field: city, locale: de_DE}"

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column) or super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        pool = _pool(self.params.field, self.params.locale)
        return map_distinct(values, lambda d: pick(pool, ctx.uint64(self.domain(), d), avoid=d), elementwise=True)


@lru_cache(maxsize=64)
def _pool(field: str, locale: str) -> pa.Array:
    pool = names(KINDS[field], locale)
    if not pa.types.is_string(pool.type):
        pool = pc.cast(pool, pa.string())
    return pc.replace_substring(pool, "\n", ", ")
