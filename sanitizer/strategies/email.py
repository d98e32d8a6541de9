"""email: a fake e-mail address (first.last@domain) in place of the value."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from ..schema.model import ColumnInfo
from ._names import local_parts, names
from ._util import b32_tags, known_locale, pick, require_text
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

NO_HOST = "example.com"  # for `keep` when the input has no @


class EmailParams(StrategyParams):
    email_domain: str = Field(
        "example.com", min_length=1, max_length=253, pattern=r"^(keep|fake|[A-Za-z0-9.-]+\.[A-Za-z]{2,})$",
        description="After the @: keep (the original domain), fake (a keyed fake domain name; may exist), "
        "or a fixed domain such as example.com (the default: reserved, so no mail reaches anyone).",
    )
    locale: str = Field("en_US", description="Faker locale of the names the local part is made of.")

    @field_validator("locale")
    @classmethod
    def _known(cls, locale: str) -> str:
        return known_locale(locale)


@register
class Email(Strategy[EmailParams]):
    """Replace an e-mail address with a fake first.last@domain, picked by a keyed hash.

    With unique (or on a UNIQUE column) a keyed 8-character tag is added to the local part; with
    the name picks it carries ~60 keyed bits, so a million distinct inputs stay distinct.

    Example: email_domain=keep: "jane.doe@acme.io" -> "marcus.lee@acme.io"
    """

    name: ClassVar[str] = "email"
    params_model: ClassVar[type[StrategyParams]] = EmailParams
    can_be_unique: ClassVar[bool] = True
    example: ClassVar[str] = "email: {strategy: email, email_domain: example.org, unique: true}"

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        unique = self.params.unique or ctx.column.unique
        return map_distinct(values, lambda d: self._emails(d, ctx, unique), elementwise=True)

    def _emails(self, distinct: pa.Array, ctx: Context, unique: bool) -> pa.Array:
        hashes = ctx.uint64(self.domain(), distinct)
        out = fake_emails(hashes, distinct, self.params.email_domain, self.params.locale, unique, ctx, self.domain())
        same = pc.equal(out, distinct).to_numpy(zero_copy_only=False)
        if same.any():  # the input was itself first.last@host: take the next name
            hashes = np.where(same, hashes + np.uint64(1), hashes)
            out = fake_emails(hashes, distinct, self.params.email_domain, self.params.locale, unique, ctx,
                              self.domain())
        return out


def fake_emails(hashes: np.ndarray, originals: pa.Array, host: str, locale: str, unique: bool,
                ctx: Context, domain: str) -> pa.Array:
    """first.last[.tag]@host for each keyed hash; host is keep, fake, or a fixed domain."""
    local = local_parts(hashes, locale)
    if unique:
        local = pc.binary_join_element_wise(local, b32_tags(hashes), ".")
    if host == "keep":
        kept = pc.replace_substring_regex(originals, r"^.*@", "")
        hosts = pc.if_else(pc.match_substring(originals, "@"), kept, NO_HOST)
    elif host == "fake":
        hosts = pick(pc.utf8_lower(names("domain_name", locale)), hashes >> np.uint64(40))
    else:
        hosts = pa.repeat(pa.scalar(host), len(hashes))
    return pc.binary_join_element_wise(local, hosts, "@")
