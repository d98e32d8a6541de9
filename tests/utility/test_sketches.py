"""The utility report's summaries: exact where they claim to be, close where they estimate, and bounded
in memory whatever the number of rows — fed batch by batch, in any split."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sanitizer.utility.risk import QuasiIdentifier, RiskCollector
from sanitizer.utility.sketch import FANOUT_PARENTS, KMV_K, TOP_K, ColumnSummary, Distinct, FanOut, Moments, hashes


def splits(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    points = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return list(pairwise(points))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["F", "M", None]), st.integers(0, 3)),
                min_size=1, max_size=400), st.lists(st.integers(0, 400), max_size=5))
def test_k_anonymity_counts_equal_a_group_by(rows: list[tuple], cuts: list[int]) -> None:
    frame = pd.DataFrame(rows, columns=["zip", "gender", "band"])
    qis = [QuasiIdentifier(c, "declared", "keep", True) for c in frame.columns]
    risk = RiskCollector({"t": qis})
    try:
        for lo, hi in splits(len(frame), cuts):
            risk.observe("t", pa.RecordBatch.from_pandas(frame.iloc[lo:hi], preserve_index=False))
        [found] = risk.report(min_k=3)["tables"]
    finally:
        risk.close()
    sizes = frame.groupby(list(frame.columns), dropna=False).size()
    assert found["smallest_k"] == sizes.min()
    assert found["unique_rows"] == (sizes == 1).sum()
    assert found["combinations"] == len(sizes)
    assert found["rows_below_min_k"] == sizes[sizes < 3].sum()


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 3000), st.lists(st.integers(0, 3000), max_size=6), st.integers(0, 2 ** 32 - 1))
def test_pair_moments_merge_to_the_whole_columns_correlation(n: int, cuts: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * 1e4 + 5e5
    y = 0.3 * x + rng.normal(size=n) * 1e4
    x[rng.random(n) < 0.1] = np.nan  # rows where one side is null do not count
    moments = Moments()
    for lo, hi in splits(n, cuts):
        moments.add(x[lo:hi], y[lo:hi])
    both = ~np.isnan(x)
    if both.sum() < 3:
        return
    assert moments.correlation() == pytest.approx(np.corrcoef(x[both], y[both])[0, 1], abs=1e-9)


def test_distinct_estimate_is_close_and_its_state_bounded() -> None:
    rng = np.random.default_rng(7)
    for distinct in (500, 20_000, 400_000):
        values = rng.integers(0, distinct, size=distinct * 3)
        sketch = Distinct()
        for lo in range(0, len(values), 65_536):
            sketch.add(hashes(pa.array(values[lo:lo + 65_536])))
        truth = len(np.unique(values))
        assert abs(sketch.estimate() - truth) / truth < 0.08
        assert len(sketch.smallest) <= KMV_K


def test_categories_are_counted_exactly_until_there_are_too_many() -> None:
    summary = ColumnSummary()
    labels = np.array(["a", "b", "c", "d"])
    data = labels[np.random.default_rng(3).integers(0, 4, 50_000)]
    for lo in range(0, len(data), 7_000):
        summary.add(pa.array(data[lo:lo + 7_000]))
    shares = sorted(summary.frequencies.shares().values())
    assert shares == sorted((pd.Series(data).value_counts() / len(data)).tolist())
    assert summary.categorical
    many = ColumnSummary()
    many.add(pa.array([f"v{i}" for i in range(TOP_K + 1)] * 3))
    assert many.frequencies.overflow and not many.categorical and len(many.frequencies.keys) == 0


def test_fan_out_sample_follows_the_true_distribution_in_bounded_space() -> None:
    rng = np.random.default_rng(11)
    children = rng.zipf(1.8, size=60_000).clip(max=500)  # children per parent, heavy-tailed
    keys = np.repeat(np.arange(len(children)), children)
    rng.shuffle(keys)
    fan = FanOut()
    for lo in range(0, len(keys), 50_000):
        fan.add([pa.array(keys[lo:lo + 50_000])])
    sample = fan.distribution()
    assert len(fan.keys) <= FANOUT_PARENTS and fan.children == len(keys)
    assert np.median(sample) == np.median(children)
    assert abs(sample.mean() - children.mean()) / children.mean() < 0.25  # heavy tail: the mean wobbles
    assert abs((sample == 1).mean() - (children == 1).mean()) < 0.03
    # NULL keys are children without a parent: not counted
    before = fan.children
    fan.add([pa.array([None, None], pa.int64())])
    assert fan.children == before


def test_numbers_and_dates_keep_their_order_and_nulls_are_counted() -> None:
    days = pa.array(np.arange(18_000, 18_000 + 1000, dtype="int32"), pa.date32())
    summary = ColumnSummary()
    summary.add(pa.concat_arrays([days, pa.nulls(250, pa.date32())]))
    assert summary.numeric and summary.null_share == 0.2
    assert abs(summary.values.get_quantile(0.5) - 18_500) <= 10  # days since 1970, rank error ~0.5%
    assert summary.values.get_min_value() == 18_000 and summary.values.get_max_value() == 18_999
