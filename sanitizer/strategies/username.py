"""username: a fake login name built from name pools."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from ..schema.model import ColumnInfo
from ._names import ascii_names, take
from ._util import b32_tags, known_locale, require_text
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

SEPARATORS = pa.array(["", ".", "_", ""])


class UsernameParams(StrategyParams):
    locale: str = Field("en_US", description="Faker locale of the names usernames are made of.")

    @field_validator("locale")
    @classmethod
    def _known(cls, locale: str) -> str:
        return known_locale(locale)


@register
class Username(Strategy[UsernameParams]):
    """Replace a login name with a fake one like "jsmith42" or "maria.lopez", picked by a keyed hash.

    With unique (or on a UNIQUE column) a keyed 8-character tag replaces the two digits, giving
    ~60 keyed bits with the name picks, so distinct inputs stay distinct.

    Example: "jdoe_1985" -> "karen.walsh17"
    """

    name: ClassVar[str] = "username"
    params_model: ClassVar[type[StrategyParams]] = UsernameParams
    can_be_unique: ClassVar[bool] = True
    example: ClassVar[str] = "login: {strategy: username, unique: true}"

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        unique = self.params.unique or ctx.column.unique
        return map_distinct(values, lambda d: self._names(d, ctx, unique))

    def _names(self, distinct: pa.Array, ctx: Context, unique: bool) -> pa.Array:
        hashes = ctx.uint64(self.domain(), distinct)
        out = usernames(hashes, self.params.locale, unique)
        same = pc.equal(out, distinct).to_numpy(zero_copy_only=False)
        if same.any():
            out = usernames(np.where(same, hashes + np.uint64(1), hashes), self.params.locale, unique)
        return out


def usernames(hashes: np.ndarray, locale: str, unique: bool) -> pa.Array:
    """first{sep}last + two digits, or an initial + last; a keyed tag instead of digits when unique."""
    first = take(ascii_names("first_name", locale), hashes)
    last = take(ascii_names("last_name", locale), hashes, 16)
    initial_only = ((hashes >> np.uint64(32)) & np.uint64(1)).astype(bool)
    first = pc.if_else(pa.array(initial_only), pc.utf8_slice_codeunits(first, 0, 1), first)
    sep = SEPARATORS.take(pa.array(((hashes >> np.uint64(33)) & np.uint64(3)).astype(np.int64)))
    two_digits = pc.cast(pa.array((hashes >> np.uint64(40)) % np.uint64(100)), pa.string())
    suffix = b32_tags(hashes) if unique else two_digits
    return pc.binary_join_element_wise(first, sep, last, suffix, "")
