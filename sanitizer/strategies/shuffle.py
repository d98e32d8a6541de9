"""shuffle: permute a column's values among the rows of a batch."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .base import Context, Strategy, StrategyParams
from .registry import register


@register
class Shuffle(Strategy[StrategyParams]):
    """Move the column's values to other rows of the same batch by a keyed sort; NULLs stay put.

    Keeps the column's distribution exactly (useful for analytics) while cutting the link to the
    row. Per batch: values only move within a batch of the source reader, and the result depends
    on what the batch holds, so it is not a per-value mapping like the other strategies. The values
    themselves are not changed, so the leak check does not treat it as masking.

    Example: ["a", "b", "c"] -> ["c", "a", "b"]
    """

    name: ClassVar[str] = "shuffle"
    may_keep_value: ClassVar[str] = "moves values, does not change them"
    can_be_unique: ClassVar[bool] = True
    injective: ClassVar[bool] = True
    changes_values: ClassVar[bool] = False
    example: ClassVar[str] = "salary: shuffle"

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        present = np.flatnonzero(~pc.is_null(values).to_numpy(zero_copy_only=False))
        if len(present) < 2:
            return values
        non_null = values.take(pa.array(present))
        rank = ctx.uint64(self.domain(), non_null)
        order = np.lexsort((np.arange(len(rank)), rank))  # keyed order, ties by position
        # the values in keyed order fill the non-null rows in row order
        index = np.arange(len(values))
        index[present] = present[order]
        return values.take(pa.array(index))
