"""The uniqueness ledger: distinct inputs end with distinct outputs, reproducibly, whatever the batches."""

from __future__ import annotations

from hashlib import blake2b

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sanitizer import uniqueness
from sanitizer.errors import ConfigError
from sanitizer.keys import Keyring
from sanitizer.schema.model import ColumnInfo
from sanitizer.uniqueness import UniqueLedger

COLUMN = ColumnInfo(table="t", name="login", type_name="VARCHAR(4)", arrow_type=pa.string(), unique=True)


def narrow(inputs: pa.Array, space: int):
    """A stand-in strategy with a tiny output space: value -> one of `space` codes, re-keyed per attempt."""

    def outputs(rows: np.ndarray, attempt: int) -> pa.Array:
        values = inputs.take(pa.array(rows)).to_pylist()
        return pa.array([None if v is None else f"u{int(blake2b(f'{v}:{attempt}'.encode()).hexdigest(), 16) % space}"
                         for v in values], pa.string())

    return outputs


def settle_batches(ledger: UniqueLedger, batches: list[list[int | None]], space: int) -> list[list[str | None]]:
    out = []
    for values in batches:
        inputs = pa.array(values, pa.int64())
        remap = narrow(inputs, space)
        first = remap(np.arange(len(values)), 0)
        out.append(ledger.settle("login-domain", COLUMN, inputs, first, remap)[0].to_pylist())
    return out


batches_strategy = st.lists(st.lists(st.one_of(st.none(), st.integers(0, 400)), min_size=1, max_size=60),
                            min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(batches_strategy)
def test_distinct_inputs_get_distinct_outputs_and_each_input_one_output(batches) -> None:
    result = settle_batches(UniqueLedger(Keyring("ledger-key")), batches, space=5000)
    mapping: dict[int, str] = {}
    for values, outputs in zip(batches, result, strict=True):
        for value, output in zip(values, outputs, strict=True):
            if value is None:
                assert output is None  # NULL stays NULL
                continue
            assert mapping.setdefault(value, output) == output  # the same input, the same output, in any batch
    assert len(set(mapping.values())) == len(mapping)


@settings(max_examples=30, deadline=None)
@given(batches_strategy)
def test_the_same_batches_settle_the_same_way_in_another_run(batches) -> None:
    first = settle_batches(UniqueLedger(Keyring("ledger-key")), batches, space=3000)
    again = settle_batches(UniqueLedger(Keyring("ledger-key")), batches, space=3000)
    assert first == again


def test_collisions_really_happen_and_are_counted() -> None:
    values = list(range(600))
    inputs = pa.array(values, pa.int64())
    remap = narrow(inputs, 2000)
    first = remap(np.arange(len(values)), 0)
    assert len(set(first.to_pylist())) < len(values)  # the stand-in collides before the ledger
    ledger = UniqueLedger(Keyring("ledger-key"))
    settled, changed = ledger.settle("login-domain", COLUMN, inputs, first, remap)
    settled = settled.to_pylist()
    assert changed
    assert len(set(settled)) == len(values)
    remapped = sum(a != b for a, b in zip(first.to_pylist(), settled, strict=True))
    assert ledger.resolved[COLUMN.qualified] == remapped > 0
    # the first claimant keeps its output: only later inputs move
    seen = set()
    for before, after in zip(first.to_pylist(), settled, strict=True):
        if before not in seen:
            assert after == before
        seen.add(before)


def test_a_domain_is_shared_across_columns_so_references_still_join() -> None:
    ledger = UniqueLedger(Keyring("ledger-key"))
    parent = settle_batches(ledger, [list(range(500))], space=2000)[0]
    child_values = [499, 3, 250, 3, 0]  # a referencing column sees the parent's values again
    child = settle_batches(ledger, [child_values], space=2000)[0]
    assert child == [parent[v] for v in child_values]


def test_an_output_space_too_small_for_the_inputs_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"t\.login .*too narrow"):
        settle_batches(UniqueLedger(Keyring("ledger-key")), [list(range(40))], space=30)


def _taken_in_batch_reference(outputs_fp: np.ndarray, inputs_fp: np.ndarray, unclaimed: np.ndarray) -> np.ndarray:
    """The plain definition: a later row whose output an earlier row of another input already took."""
    clash = np.zeros(len(outputs_fp), bool)
    first_row: dict[int, int] = {}
    for row in np.nonzero(unclaimed)[0]:
        output = int(outputs_fp[row])
        if output in first_row and inputs_fp[first_row[output]] != inputs_fp[row]:
            clash[row] = True
        first_row.setdefault(output, row)
    return clash


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4), st.booleans()), max_size=40))
def test_clashes_inside_a_batch_are_the_later_rows_of_another_input(rows) -> None:
    outputs = np.array([r[0] for r in rows], np.uint64)
    inputs = np.array([r[1] for r in rows], np.uint64)
    unclaimed = np.array([r[2] for r in rows], bool)
    assert (uniqueness._taken_in_batch(outputs, inputs, unclaimed)
            == _taken_in_batch_reference(outputs, inputs, unclaimed)).all()
