"""hash: a keyed, irreversible token in place of the value."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..schema.model import ColumnInfo
from ._util import HEX, fixed_width_strings
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

ALPHABETS = {
    "hex": "0123456789abcdef",
    "base32": "abcdefghijklmnopqrstuvwxyz234567",
    "alnum": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "digits": "0123456789",
}
UNIQUE_BITS = 64  # below this many bits a token space is too small to promise uniqueness


class HashParams(StrategyParams):
    length: int = Field(16, ge=4, le=64, description="Characters in the token (prefix not counted).")
    prefix: str = Field("", max_length=32, description="Text put before the token, e.g. 'cust_'.")
    alphabet: Literal["hex", "base32", "alnum", "digits"] = Field(
        "hex", description="Characters the token is made of."
    )


@register
class Hash(Strategy[HashParams]):
    """Replace the value with a keyed token: same input, same token, in every table and run.

    Example: length=12, prefix="u_": "jane@example.org" -> "u_3f9c0a7be21d"
    """

    name: ClassVar[str] = "hash"
    params_model: ClassVar[type[StrategyParams]] = HashParams
    can_be_unique: ClassVar[bool] = True
    example: ClassVar[str] = "ssn: {strategy: hash, length: 12, prefix: 'ssn_'}"

    @property
    def bits(self) -> float:
        return self.params.length * math.log2(len(ALPHABETS[self.params.alphabet]))

    def check(self, column: ColumnInfo) -> str | None:
        if not column.is_text:
            return f"hash writes text but the column is {column.type_name}; keep it or use set"
        if (self.params.unique or column.unique) and self.bits < UNIQUE_BITS:
            needed = math.ceil(UNIQUE_BITS / math.log2(len(ALPHABETS[self.params.alphabet])))
            return (
                f"a {self.params.length}-character {self.params.alphabet} token has {self.bits:.0f} bits, "
                f"too few to stay unique; use length >= {needed}"
            )
        total = len(self.params.prefix) + self.params.length
        if column.max_length is not None and total > column.max_length:
            return f"the token is {total} characters but the column holds {column.max_length}; shorten length"
        return None

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return map_distinct(values, lambda distinct: self._tokens(distinct, ctx), elementwise=True)

    def _tokens(self, distinct: pa.Array, ctx: Context) -> pa.Array:
        digests = ctx.digest_matrix(self.domain(), distinct, 32)
        if self.params.alphabet == "hex":
            return _hex(digests, self.params.length, self.params.prefix)
        return _base_n(digests, ALPHABETS[self.params.alphabet], self.params.length, self.params.prefix)


def _hex(digests: np.ndarray, length: int, prefix: str) -> pa.Array:
    """The first `length` hex digits of each digest (as bytes.hex()), through a lookup table, no loop."""
    nibbles = digests[:, : (length + 1) // 2]
    chars = np.empty((len(digests), nibbles.shape[1] * 2), np.uint8)
    chars[:, 0::2], chars[:, 1::2] = HEX[nibbles >> 4], HEX[nibbles & 15]
    tokens = fixed_width_strings(chars[:, :length])
    return pc.binary_join_element_wise(prefix, tokens, "") if prefix else tokens


def _base_n(digests: np.ndarray, alphabet: str, length: int, prefix: str) -> pa.Array:
    """The digest read as a big-endian number, written least significant digit first (vectorized).

    Long division of 32-bit limbs by the base, in numpy, so each character costs a few array ops
    instead of a Python loop per value; the output is identical to int.from_bytes + divmod.
    """
    limbs = np.ascontiguousarray(digests).view(">u4").astype(np.uint64)
    base = np.uint64(len(alphabet))
    chars = np.empty((len(digests), length), np.uint8)
    table = np.frombuffer(alphabet.encode(), np.uint8)
    for i in range(length):
        rem = np.zeros(len(digests), np.uint64)
        for j in range(limbs.shape[1]):
            cur = (rem << np.uint64(32)) | limbs[:, j]
            limbs[:, j] = cur // base
            rem = cur % base
        chars[:, i] = table[rem]
    tokens = fixed_width_strings(chars)
    return pc.binary_join_element_wise(prefix, tokens, "") if prefix else tokens
