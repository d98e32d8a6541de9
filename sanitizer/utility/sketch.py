"""Bounded-memory summaries of one column (or one foreign key) on one side of a refresh.

Each summary takes Arrow arrays batch by batch, holds a fixed amount of state whatever the table's
size, and keeps no value a person could read back: quantile sketches of numbers (Apache DataSketches'
KLL), 64-bit hashes of texts, counts. Two summaries of the same column — production's and staging's —
are compared by the scores in `compare.py`. Summaries merge, so the same code can run per partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from datasketches import kll_doubles_sketch

KLL_K = 1600  # rank error about 0.2%: KS distances below that are noise
TOP_K = 256  # a text column with at most this many distinct values is categorical
KMV_K = 1024  # distinct-count estimate from the smallest hashes: about 3% error
FANOUT_PARENTS = 4096  # parents whose children are counted exactly (sampled by hash)
HASH_SEED = 0x5A17  # same seed on both sides, so a kept label hashes alike in production and staging


def hashes(values: pa.Array) -> np.ndarray:
    """64-bit hash of each value (nulls hash too), vectorized by polars."""
    return pl.Series(values).hash(seed=HASH_SEED).to_numpy()


def row_hashes(columns: list[pa.Array]) -> np.ndarray:
    """64-bit hash of each row's combination of values."""
    frame = pl.DataFrame({f"c{i}": pl.Series(c) for i, c in enumerate(columns)})
    return frame.hash_rows(seed=HASH_SEED).to_numpy()


def as_floats(values: pa.Array) -> pa.Array | None:
    """Numbers, dates and times as float64 (nulls stay null), or None for a type with no order of numbers."""
    kind = values.type
    if pa.types.is_boolean(kind) or not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                         or pa.types.is_decimal(kind) or pa.types.is_temporal(kind)):
        return None
    if pa.types.is_temporal(kind):
        narrow = pa.types.is_date32(kind) or pa.types.is_time32(kind)
        values = values.view(pa.int32() if narrow else pa.int64())
    return pc.cast(values, pa.float64(), safe=False)


def numeric_view(values: pa.Array) -> np.ndarray | None:
    """The finite numbers of as_floats, nulls dropped."""
    floats = as_floats(values)
    if floats is None:
        return None
    numbers = floats.drop_null().to_numpy(zero_copy_only=False)
    return numbers[np.isfinite(numbers)]


def lengths(values: pa.Array) -> np.ndarray:
    """Lengths of texts (characters) or binaries (bytes), nulls dropped."""
    values = values.drop_null()
    measured = pc.utf8_length(values) if pa.types.is_string(values.type) or pa.types.is_large_string(
        values.type) else pc.binary_length(values)
    return measured.to_numpy(zero_copy_only=False).astype(np.float64)


def value_counts(hashed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct hashes and how often each occurs (Arrow's hash kernel: no sort)."""
    counted = pc.value_counts(pa.array(hashed))
    return (counted.field("values").to_numpy(zero_copy_only=False),
            counted.field("counts").to_numpy(zero_copy_only=False))


@dataclass
class Distinct:
    """K minimum values: the KMV_K smallest distinct hashes estimate how many distinct values there are."""

    smallest: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))

    def add(self, hashed: np.ndarray) -> None:
        if len(self.smallest) == KMV_K:  # full: only hashes under the largest kept can enter
            hashed = hashed[hashed < self.smallest[-1]]
        elif len(hashed) > 4 * KMV_K:  # a cheap cut before sorting; duplicates may leave too few
            cut = hashed[hashed <= np.partition(hashed, 4 * KMV_K)[4 * KMV_K]]
            if len(np.unique(cut)) >= KMV_K:
                hashed = cut
        if len(hashed):
            self.smallest = np.unique(np.concatenate([self.smallest, hashed]))[:KMV_K]

    def estimate(self) -> float:
        if len(self.smallest) < KMV_K:
            return float(len(self.smallest))
        return (KMV_K - 1) / (float(self.smallest[-1]) / 2.0 ** 64)


@dataclass
class Frequencies:
    """Exact counts per value hash while a column has at most TOP_K distinct values; beyond, `overflow`."""

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    overflow: bool = False

    def add(self, hashed: np.ndarray) -> None:
        if self.overflow:
            return
        keys, counts = value_counts(hashed)
        if len(keys) > TOP_K:
            self.overflow, self.keys, self.counts = True, self.keys[:0], self.counts[:0]
            return
        keys, inverse = np.unique(np.concatenate([self.keys, keys]), return_inverse=True)
        if len(keys) > TOP_K:
            self.overflow, self.keys, self.counts = True, self.keys[:0], self.counts[:0]
            return
        self.keys, self.counts = keys, np.bincount(inverse, np.concatenate([self.counts, counts]),
                                                   len(keys)).astype(np.int64)

    def shares(self) -> dict[int, float]:
        total = self.counts.sum()
        return {int(k): c / total for k, c in zip(self.keys, self.counts, strict=True)} if total else {}


def new_kll() -> kll_doubles_sketch:
    return kll_doubles_sketch(KLL_K)


@dataclass
class ColumnSummary:
    """One column on one side: nulls, distinct values, and the shape of its values (numbers or texts)."""

    rows: int = 0
    nulls: int = 0
    numeric: bool | None = None  # decided by the first batch's type
    values: kll_doubles_sketch = field(default_factory=new_kll)  # numbers, or texts' lengths
    distinct: Distinct = field(default_factory=Distinct)
    frequencies: Frequencies = field(default_factory=Frequencies)
    unreadable: bool = False  # values arrived in a form with no order or text (binary wire form)

    def add(self, values: pa.Array) -> None:
        self.rows += len(values)
        self.nulls += values.null_count
        present = values.drop_null() if values.null_count else values
        if not len(present):
            return
        numbers = numeric_view(present)
        if self.numeric is None:
            self.numeric = numbers is not None
        if self.numeric and numbers is not None:
            self.values.update(numbers)
        elif not self.numeric and numbers is None:
            self.values.update(lengths(present))
        else:
            self.unreadable = True
            return
        hashed = hashes(present)
        self.distinct.add(hashed)
        self.frequencies.add(hashed)

    @property
    def null_share(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0

    @property
    def distinct_share(self) -> float:
        present = self.rows - self.nulls
        return min(1.0, self.distinct.estimate() / present) if present else 0.0

    @property
    def categorical(self) -> bool:
        """Few distinct values, each repeated: categories (a tiny table's names are not)."""
        return not self.numeric and not self.frequencies.overflow and self.distinct_share <= 0.5


@dataclass
class Moments:
    """Co-moments of two columns over the rows where both are present (Chan et al.'s merge): Pearson's r."""

    n: int = 0
    mean_x: float = 0.0
    mean_y: float = 0.0
    m2_x: float = 0.0
    m2_y: float = 0.0
    c_xy: float = 0.0

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        n = len(x)
        if not n:
            return
        mx, my = x.mean(), y.mean()
        dx, dy = x - mx, y - my
        # plain sums, not BLAS: its threads spin against polars' pool (20x slower on 2 cores)
        m2x, m2y, cxy = float((dx * dx).sum()), float((dy * dy).sum()), float((dx * dy).sum())
        total = self.n + n
        delta_x, delta_y = mx - self.mean_x, my - self.mean_y
        self.m2_x += m2x + delta_x ** 2 * self.n * n / total
        self.m2_y += m2y + delta_y ** 2 * self.n * n / total
        self.c_xy += cxy + delta_x * delta_y * self.n * n / total
        self.mean_x += delta_x * n / total
        self.mean_y += delta_y * n / total
        self.n = total

    def correlation(self) -> float | None:
        if self.n < 3 or self.m2_x <= 0 or self.m2_y <= 0:
            return None
        return max(-1.0, min(1.0, self.c_xy / (self.m2_x * self.m2_y) ** 0.5))


@dataclass
class FanOut:
    """Children per parent for one foreign key, counted exactly for a hash-sampled set of parents.

    A parent is sampled when its key's hash is under a threshold, so every child of a sampled parent
    is counted; the threshold halves whenever more than FANOUT_PARENTS parents are held (Gibbons'
    distinct sampling). The counts of the sampled parents are a fair sample of the fan-out distribution.
    """

    threshold: int = 2 ** 64 - 1
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    children: int = 0
    parents: Distinct = field(default_factory=Distinct)
    unreadable: bool = False

    def add(self, columns: list[pa.Array]) -> None:
        present = None
        for column in columns:  # a child with a NULL in its key has no parent
            valid = pc.is_valid(column)
            present = valid if present is None else pc.and_(present, valid)
        if present is not None and pc.sum(pc.invert(present)).as_py():
            columns = [pc.filter(c, present) for c in columns]
        if not len(columns[0]):
            return
        hashed = row_hashes(columns) if len(columns) > 1 else hashes(columns[0])
        self.children += len(hashed)
        self.parents.add(hashed)
        sampled = hashed[hashed <= np.uint64(self.threshold)]
        keys, counts = value_counts(sampled)
        keys, inverse = np.unique(np.concatenate([self.keys, keys]), return_inverse=True)
        counts = np.bincount(inverse, np.concatenate([self.counts, counts]), len(keys)).astype(np.int64)
        while len(keys) > FANOUT_PARENTS:
            self.threshold //= 2
            keep = keys <= np.uint64(self.threshold)
            keys, counts = keys[keep], counts[keep]
        self.keys, self.counts = keys, counts

    def distribution(self) -> np.ndarray:
        return np.sort(self.counts).astype(np.float64)
