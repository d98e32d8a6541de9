"""password: a bcrypt-shaped hash in place of a password hash."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, ValidationInfo, field_validator

from ..schema.model import ColumnInfo
from ._util import fixed_width_strings, keep_nulls, require_text
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

BCRYPT_ALPHABET = np.frombuffer(b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", np.uint8)
BCRYPT_BODY = 53  # 22 characters of salt + 31 of hash
BCRYPT_PATTERN = r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$"


class PasswordParams(StrategyParams):
    mode: Literal["keyed", "fixed"] = Field(
        "keyed", description="keyed: a keyed random bcrypt-shaped string per value (nobody can log in); "
        "fixed: every row gets `hash`, so staging users log in with one known password.")
    hash: str | None = Field(
        None, pattern=BCRYPT_PATTERN, validate_default=True,
        description="For mode fixed: a real bcrypt hash of the staging password, e.g. made with "
        "`python -c \"import bcrypt; print(bcrypt.hashpw(b'staging', bcrypt.gensalt()).decode())\"`.")
    cost: int = Field(12, ge=4, le=31, description="For mode keyed: the cost factor written in the hash.")

    @field_validator("hash")
    @classmethod
    def _fixed_needs_hash(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("mode") == "fixed" and value is None:
            raise ValueError("mode fixed needs `hash:` (a bcrypt hash of the staging password)")
        return value


@register
class Password(Strategy[PasswordParams]):
    """Replace password hashes with a known bcrypt hash (fixed) or keyed bcrypt-looking noise (keyed).

    Keyed output has the bcrypt shape ($2b$12$ + 53 characters) so schemas and validators accept
    it, but it is no hash of anything: nobody can log in with it.

    Example: mode=keyed: "$2b$12$R9h/cIPz0gi.URNNX3kh2O..." -> "$2b$12$Qm4v.../Zk1"
    """

    name: ClassVar[str] = "password"
    params_model: ClassVar[type[StrategyParams]] = PasswordParams
    can_be_unique: ClassVar[bool] = True
    example: ClassVar[str] = "password_hash: {strategy: password, mode: keyed}"

    def check(self, column: ColumnInfo) -> str | None:
        if self.params.mode == "fixed" and (self.params.unique or column.unique):
            return "password mode fixed writes one hash to every row, which cannot be unique; use mode keyed"
        return require_text(self.name, column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        if self.params.mode == "fixed":
            return keep_nulls(values, pa.repeat(pa.scalar(self.params.hash), len(values)))
        prefix = f"$2b${self.params.cost:02d}$"
        return map_distinct(values, lambda d: pc.binary_join_element_wise(
            prefix, fixed_width_strings(BCRYPT_ALPHABET[ctx.digest_matrix(self.domain(), d, BCRYPT_BODY) & 63]),
            ""))
