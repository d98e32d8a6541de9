"""The leak check compares normalised text: its vectorized form must be exactly the reference one.

`normalise` and `low_entropy` (plain Python, one value at a time) say what is compared; the run uses
Arrow kernels and RE2 patterns over whole columns. If the two drifted apart, an original e-mail with a
trailing dot or a name written with a tab would stop matching its copy in the output.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sanitizer.keys import Keyring
from sanitizer.schema.model import ColumnInfo
from sanitizer.validate.leak import LeakCheck, anywhere_forms, counts_anywhere, joined, low_entropy, normalise, words_of

# letters (with accents), digits, the punctuation trimmed from words, other symbols kept inside words,
# and every kind of space: ASCII, tab, newline, no-break, em space
ALPHABET = "abcXYZéÅ0123456789" + ".,;:!?()[]{}<>\"'`" + "@-_/+#\u2019" + " \t\n\u00a0\u2003"
texts = st.text(alphabet=ALPHABET, max_size=24)


@settings(max_examples=400, deadline=None)
@given(st.lists(texts, min_size=1, max_size=40))
def test_vectorized_normal_form_is_the_reference_one(values: list[str]) -> None:
    expected = [w for w in (normalise(v) for v in values) if w]  # values with no words drop out
    assert joined(*words_of(pa.array(values, pa.string()))).to_pylist() == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(texts, min_size=1, max_size=40))
def test_originals_counted_anywhere_are_the_reference_ones(values: list[str]) -> None:
    expected = sorted(f for f in (normalise(v) for v in values) if f and not low_entropy(f))
    assert sorted(anywhere_forms(pa.array(values, pa.string())).to_pylist()) == expected


def test_low_entropy_examples() -> None:
    kept = counts_anywhere(pa.array(["anna", "o'neil-smith", "12345", "12 345", "1234567", "ann@x.io",
                                     "10115 berlin", "st. john's"])).to_pylist()
    assert kept == ["1234567", "ann@x.io", "10115 berlin", "st. john's"]


def _column(name: str) -> ColumnInfo:
    return ColumnInfo(name=name, type_name="text", arrow_type=pa.string(), nullable=True, table="t")


def test_an_original_quoted_in_free_text_with_other_spacing_and_case_is_found() -> None:
    check = LeakCheck(Keyring("test-key-0123456789abcdef"))
    originals = pa.array(["Ada Lovelace", "ada@example.org", "Bob", None])
    masked = pa.array(["Grace Hopper", "x1@example.net", "Tom", None])
    check.observe(_column("name"), originals, masked, transformed=True)
    notes = pa.array(["call  ADA\tlovelace, tomorrow", "mail: <Ada@Example.org>.", "bob said hi", None])
    check.observe(_column("notes"), notes, notes, transformed=False)
    found = {(f.kind, f.column, f.count) for f in check.findings()}
    # the full name and the e-mail count anywhere; "Bob" (one short word) only in its own row
    assert found == {("original_value_in_output", "t.notes", 2)}


def test_fingerprints_depend_on_the_key() -> None:
    values = pa.array(["ada@example.org", "grace@example.org"])
    one = LeakCheck(Keyring("key-one-0123456789abcdef"))._hash(values)
    two = LeakCheck(Keyring("key-two-0123456789abcdef"))._hash(values)
    assert len(set(one.tolist()) & set(two.tolist())) == 0
    assert np.array_equal(one, LeakCheck(Keyring("key-one-0123456789abcdef"))._hash(values))


def test_a_long_original_copied_whole_is_found() -> None:
    check = LeakCheck(Keyring("test-key-0123456789abcdef"))
    original = pa.array(["Flat 4, Building 7, 221 Old Mill Lane, Little Snoring, Norfolk"])  # 11 words
    check.observe(_column("address"), original, pa.array(["1 Main St"]), transformed=True)
    check.observe(_column("notes"), original, original, transformed=False)
    assert [(f.kind, f.column, f.count) for f in check.findings()] == [("original_value_in_output", "t.notes", 1)]
