"""person: one consistent fake person per row across first_name, last_name, full_name, email, username."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from ..schema.model import ColumnInfo
from ._names import names, take
from ._util import keep_nulls, known_locale, require_text, row_hashes
from .base import Context, Strategy, StrategyParams, map_distinct
from .email import fake_emails
from .registry import register
from .username import usernames

PersonField = Literal["first_name", "last_name", "full_name", "email", "username"]
CAN_BE_UNIQUE = {"email", "username"}


class PersonParams(StrategyParams):
    field: PersonField = Field(..., description="Which attribute of the fake person the column holds.")
    seed_columns: list[str] = Field(
        default_factory=list,
        description="Columns whose ORIGINAL values identify the person (e.g. [id]); every person field of a "
        "row with the same seed_columns, locale and domain describes the same fake person. Without them "
        "each value is replaced on its own.",
    )
    locale: str = Field("en_US", description="Faker locale of the names.")
    email_domain: str = Field("example.com", pattern=r"^(keep|fake|[A-Za-z0-9.-]+\.[A-Za-z]{2,})$",
                              description="For field=email: keep, fake or a fixed domain (as in email).")

    @field_validator("locale")
    @classmethod
    def _known(cls, locale: str) -> str:
        return known_locale(locale)


@register
class Person(Strategy[PersonParams]):
    """Replace a name, e-mail or username with that attribute of one keyed fake person per row.

    The person is chosen by the keyed hash of the original seed_columns values, so first_name,
    last_name and email of a row stay consistent ("Maria", "Lopez", "maria.lopez@example.com") and
    the same customer gets the same person in every table. Unique (email, username) adds a keyed tag
    from the column's own value, so distinct values stay distinct even when seeds repeat.

    Example: field=full_name, seed_columns=[id]: "Jane Doe" -> "Maria Lopez"
    """

    name: ClassVar[str] = "person"
    params_model: ClassVar[type[StrategyParams]] = PersonParams
    can_be_unique: ClassVar[bool] = True
    example: ClassVar[str] = "first_name: {strategy: person, field: first_name, seed_columns: [customer_id]}"

    def domain(self) -> str:
        """Shared by every field, so the fields of one row pick the same person."""
        if self.params.domain:
            return self.params.domain
        return f"person|locale={self.params.locale}|seed={','.join(self.params.seed_columns)}"

    def check(self, column: ColumnInfo) -> str | None:
        if (self.params.unique or column.unique) and self.params.field not in CAN_BE_UNIQUE:
            return f"person {self.params.field} cannot be kept unique; only email and username can"
        return require_text(self.name, column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        unique = self.params.unique or ctx.column.unique
        if not self.params.seed_columns:
            return map_distinct(values, lambda d: self._make(ctx.uint64(self.domain(), d), d, ctx, unique))
        hashes = row_hashes(ctx, self.domain(), self.params.seed_columns, self.name)
        filled = pc.fill_null(values, "") if values.null_count else values
        return keep_nulls(values, self._make(hashes, filled, ctx, unique))

    def _make(self, hashes: np.ndarray, originals: pa.Array, ctx: Context, unique: bool) -> pa.Array:
        out = person_field(self.params.field, hashes, originals, self.params, ctx, unique, self.domain())
        same = pc.fill_null(pc.equal(out, originals), False).to_numpy(zero_copy_only=False)
        if same.any():  # the original already is the fake person's value: take the next person
            hashes = np.where(same, hashes ^ np.uint64(0x5BD1E995), hashes)
            out = person_field(self.params.field, hashes, originals, self.params, ctx, unique, self.domain())
        return out


def person_field(field: str, hashes: np.ndarray, originals: pa.Array, params: PersonParams, ctx: Context,
                 unique: bool, domain: str) -> pa.Array:
    """One attribute of the fake persons indexed by hashes (first from the low bits, last from bits 16+)."""
    if field in ("email", "username"):
        if unique:  # tag from the value itself: distinct values stay distinct even with one seed
            own = ctx.uint64(domain + "|own", originals)
            hashes = (hashes & np.uint64(0xFFFFFFFF)) | (own & np.uint64(0xFFFFFFFF00000000))
        if field == "email":
            return fake_emails(hashes, originals, params.email_domain, params.locale, unique, ctx, domain)
        return usernames(hashes, params.locale, unique)
    first = take(names("first_name", params.locale), hashes)
    last = take(names("last_name", params.locale), hashes, 16)
    if field == "first_name":
        return first
    if field == "last_name":
        return last
    return pc.binary_join_element_wise(first, last, " ")

