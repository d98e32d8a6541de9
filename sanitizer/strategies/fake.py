"""fake: realistic values from any Faker provider, picked by a keyed hash from a fixed pool."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker
from pydantic import Field, field_validator

from ..schema.model import ColumnInfo
from . import _pool_cache as pool_cache
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

NOT_KINDS = frozenset({"seed", "seed_instance", "seed_locale", "random", "unique", "optional", "factories",
                       "provider", "get_providers", "add_provider", "format", "parse", "set_formatter",
                       "get_formatter", "set_arguments", "del_arguments", "get_arguments", "weights"})


class FakeParams(StrategyParams):
    kind: str = Field(..., description="A Faker provider method: first_name, email, city, iban, paragraph, ...")
    locale: str = Field("en_US", description="Faker locale the pool is drawn in, e.g. de_DE, fr_FR, ja_JP.")
    pool_size: int = Field(
        4096, ge=16, le=1_000_000,
        description="How many fake values are drawn once per (kind, locale); the key picks among them.",
    )

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, locale: str) -> str:
        from faker.config import AVAILABLE_LOCALES

        if locale not in AVAILABLE_LOCALES:
            raise ValueError(f"unknown Faker locale {locale!r}; e.g. en_US, de_DE, fr_FR")
        return locale

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        probe = _faker("en_US")
        if kind.startswith("_") or kind in NOT_KINDS or not callable(getattr(probe, kind, None)):
            import difflib

            close = difflib.get_close_matches(kind, [k for k in dir(probe) if not k.startswith("_")], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown Faker kind {kind!r}{hint}")
        return kind


@register
class Fake(Strategy[FakeParams]):
    """Replace the value with a realistic fake of the given kind, chosen by a keyed hash.

    The pool is drawn once per (kind, locale, pool_size) from a Faker seeded by those alone, so
    output never depends on call order or other columns. A value never maps to itself. With
    unique: true a keyed discriminator is added (before the @ of an e-mail).

    Example: kind=first_name: "Jennifer" -> "Marcus"
    """

    name: ClassVar[str] = "fake"
    params_model: ClassVar[type[StrategyParams]] = FakeParams
    can_be_unique: ClassVar[bool] = True
    example: ClassVar[str] = "email: {strategy: fake, kind: email, unique: true}"

    def check(self, column: ColumnInfo) -> str | None:
        pool = fake_pool(self.params.kind, self.params.locale, self.params.pool_size)
        if (self.params.unique or column.unique) and not pa.types.is_string(pool.type):
            return f"fake kind {self.params.kind!r} makes {pool.type} values that cannot be kept unique"
        return None

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        pool = fake_pool(self.params.kind, self.params.locale, self.params.pool_size)
        unique = self.params.unique or ctx.column.unique
        return map_distinct(values, lambda distinct: self._pick(distinct, pool, unique, ctx), elementwise=True)

    def _pick(self, distinct: pa.Array, pool: pa.Array, unique: bool, ctx: Context) -> pa.Array:
        hashes = ctx.uint64(self.domain(), distinct)
        index = (hashes % np.uint64(len(pool))).astype(np.int64)
        picked = pool.take(pa.array(index))
        if not unique and pa.types.is_string(picked.type) and pa.types.is_string(distinct.type):
            # never hand a value back as itself: step to the next pool entry where it would
            same = pc.equal(picked, distinct).to_numpy(zero_copy_only=False)
            if same.any():
                index = np.where(same, (index + 1) % len(pool), index)
                picked = pool.take(pa.array(index))
        if unique:
            picked = _with_discriminator(picked, hashes, (self.params.kind, self.params.locale, self.params.pool_size),
                                         index)
        return picked


def _with_discriminator(picked: pa.Array, hashes: np.ndarray, pool: tuple[str, str, int],
                        index: np.ndarray) -> pa.Array:
    """Make each fake distinct by a keyed 40-bit tag; e-mails keep their shape. Vectorized: `picked` is
    fake_pool(*pool).take(index), so an e-mail's local part and host are its pool entry's, split once."""
    kind = pool[0]
    from ._util import b32_tags  # the base32 of hashes >> 24, as before, without a Python loop

    tags = b32_tags(hashes)
    spaced = pc.binary_join_element_wise(picked, tags, " ")
    if "email" not in kind:
        return spaced
    local, host = _email_parts(*pool)
    take = pa.array(index)
    tagged = pc.binary_join_element_wise(local.take(take), ".", tags, "@", host.take(take), "")
    return pc.if_else(pc.is_null(tagged), spaced, tagged)


@lru_cache(maxsize=64)
def _email_parts(kind: str, locale: str, size: int) -> tuple[pa.Array, pa.Array]:
    """The local parts and hosts of a pool of e-mails (NULL where an entry has no @)."""
    parts = pc.extract_regex(fake_pool(kind, locale, size), r"^(?P<local>[^@]*)@(?P<host>.*)$")
    return pc.struct_field(parts, [0]), pc.struct_field(parts, [1])


@lru_cache(maxsize=16)
def _faker(locale: str) -> Faker:
    """A Faker used only to look providers up, never to draw values."""
    return Faker(locale)


@lru_cache(maxsize=256)
def fake_pool(kind: str, locale: str, size: int) -> pa.Array:
    """The fixed pool for (kind, locale, size): a pure function of its arguments (and Faker's version).

    Drawing thousands of Faker values takes ~0.2 s per pool in every process of a run (the plan's
    checks, each worker), so pools are kept in a disk cache: Faker's made-up values, never data.
    """
    cached = pool_cache.load(kind, locale, size)
    if cached is not None:
        return cached
    faker = Faker(locale)
    seed = int.from_bytes(hashlib.sha256(f"{kind}|{locale}|{size}".encode()).digest()[:8], "big")
    faker.seed_instance(seed)
    draw = getattr(faker, kind)
    values: list[Any] = [draw() for _ in range(size)]
    pool = pa.array(values)
    pool_cache.store(kind, locale, size, pool)
    return pool
