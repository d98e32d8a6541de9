"""uuid: a keyed, UUID-shaped token in place of the value."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa

from ..schema.model import ColumnInfo
from ._util import HEX, fixed_width_strings
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

UUID_LENGTH = 36
HYPHENS = (8, 12, 16, 20)  # hex-digit offsets a hyphen precedes


@register
class Uuid(Strategy[StrategyParams]):
    """Replace the value with a keyed version-4-shaped UUID: same input, same UUID, everywhere.

    122 keyed bits, so distinct inputs stay distinct (unique-capable). Built with numpy, no per-row Python.

    Example: "3f2b8a6e-0c1d-4e5f-9a7b-1c2d3e4f5a6b" -> "9d4e0c7a-51f2-4b83-a6e9-0d3c7b21f8a4"
    """

    name: ClassVar[str] = "uuid"
    can_be_unique: ClassVar[bool] = True
    injective: ClassVar[bool] = True
    example: ClassVar[str] = "external_id: uuid"

    def check(self, column: ColumnInfo) -> str | None:
        if not column.is_text:
            return f"uuid writes text but the column is {column.type_name}"
        if column.max_length is not None and column.max_length < UUID_LENGTH:
            return f"a UUID has {UUID_LENGTH} characters but the column holds {column.max_length}"
        return None

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return map_distinct(values, lambda distinct: uuids(ctx.digest_matrix(self.domain(), distinct, 16)),
                            elementwise=True)


def uuids(raw: np.ndarray) -> pa.Array:
    """Format (n, 16) random bytes as version-4, RFC 4122 variant UUID strings."""
    raw = raw.copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((len(raw), 32), np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    chars = HEX[nibbles]
    return fixed_width_strings(np.insert(chars, HYPHENS, ord("-"), axis=1))
