"""The C kernel (sanitizer/_native.c) must give exactly hashlib's keyed BLAKE2b, or every keyed output
of a run would differ between a machine that built it and one that did not."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sanitizer import keys
from sanitizer.keys import Keyring
from sanitizer.strategies.base import canonical_binary

KEY = "test-key-0123456789abcdef"
native = keys._native_blake2b
needs_kernel = pytest.mark.skipif(native is None, reason="built without a C compiler (see the test below)")


def reference(key: bytes, size: int, values: list[bytes]) -> bytes:
    return b"".join(hashlib.blake2b(v, key=key, digest_size=size).digest() for v in values)


def kernel(key: bytes, size: int, values: pa.Array) -> bytes:
    wide = pa.types.is_large_binary(values.type)
    offsets = np.frombuffer(values.buffers()[1], np.int64 if wide else np.int32)
    data = values.buffers()[2]
    out = np.zeros((len(values), size), np.uint8)
    native(key, size, b"" if data is None else data, offsets[values.offset:values.offset + len(values) + 1],
           len(values), wide, out)
    return out.tobytes()


def test_the_kernel_is_built_here() -> None:
    """pip install builds it; `optional = true` in pyproject.toml only keeps an install without a C
    compiler working (slower). Fails here so that a silently missing kernel is noticed."""
    assert native is not None, "sanitizer._native was not built: install a C compiler and reinstall"


@needs_kernel
@settings(max_examples=150, deadline=None)
@given(key=st.binary(min_size=1, max_size=64), size=st.integers(1, 64),
       # around the 128-byte block edge, where padding and the last-block flag are decided
       values=st.lists(st.one_of(st.binary(max_size=8), st.binary(min_size=120, max_size=300)), max_size=12),
       large=st.booleans(), start=st.integers(0, 3))
def test_kernel_digests_equal_hashlib(key: bytes, size: int, values: list[bytes], large: bool, start: int) -> None:
    array = pa.array(values, pa.large_binary() if large else pa.binary())[start:]  # a slice: offset != 0
    assert kernel(key, size, array) == reference(key, size, values[start:])


@needs_kernel
@settings(max_examples=40, deadline=None)
@given(key=st.binary(min_size=1, max_size=64), size=st.integers(1, 64),
       lengths=st.lists(st.sampled_from([0, 1, 7, 8, 9, 64, 127, 128, 129, 255, 256, 257]), min_size=4,
                        max_size=40),
       seed=st.integers(0, 2**32 - 1))
def test_values_hashed_four_at_a_time_equal_hashlib(key: bytes, size: int, lengths: list[int], seed: int) -> None:
    """AVX2 CPUs hash one-block values in groups of four lanes; empty and multi-block values, and the
    group left over at the end, one at a time: each value's digest must not depend on its neighbours."""
    rng = np.random.default_rng(seed)
    values = [rng.bytes(n) for n in lengths]
    assert kernel(key, size, pa.array(values, pa.binary())) == reference(key, size, values)


@needs_kernel
@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=50), st.sampled_from([8, 16, 32]))
def test_keyring_matrix_is_the_same_with_and_without_the_kernel(texts: list[str], size: int) -> None:
    keyring = Keyring(KEY)
    values = canonical_binary(pa.array(texts, pa.string()))
    with_kernel = keyring.digest_matrix("fake|kind=city", values, size)
    assert with_kernel.tobytes() == reference(keyring.subkey("fake|kind=city"), size, [t.encode() for t in texts])
    saved = keys._native_blake2b
    keys._native_blake2b = None
    try:
        assert np.array_equal(keyring.digest_matrix("fake|kind=city", values, size), with_kernel)
    finally:
        keys._native_blake2b = saved


def test_canonical_form_of_numbers_is_their_text() -> None:
    keyring = Keyring(KEY)
    ints = keyring.uint64("d", canonical_binary(pa.array([42, 7], pa.int64())))
    texts = keyring.uint64("d", canonical_binary(pa.array(["42", "7"])))
    assert ints.tolist() == texts.tolist()
    assert ints.dtype == np.dtype("<u8") and ints.flags.writeable


@needs_kernel
@pytest.mark.parametrize("offsets", [[0, 5, 3], [0, 2, 99], [-1, 2, 3]], ids=["falling", "past-the-data", "negative"])
def test_offsets_outside_the_data_are_refused_not_read(offsets: list[int]) -> None:
    with pytest.raises(ValueError, match="offsets"):
        native(b"k" * 32, 8, b"abcdef", np.array(offsets, np.int32), 2, False, np.zeros(16, np.uint8))


@needs_kernel
def test_an_output_buffer_too_small_is_refused() -> None:
    with pytest.raises(ValueError, match="output"):
        native(b"k" * 32, 8, b"abcdef", np.array([0, 3, 6], np.int32), 2, False, np.zeros(15, np.uint8))
