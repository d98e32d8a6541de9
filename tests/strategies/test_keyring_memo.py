"""The keyring remembers digests of values that come back batch after batch; that must change nothing.

Strategies hash each distinct value of a batch. A first name or a city comes back in every batch, so
the keyring keeps their digests per domain; a domain whose values rarely repeat (e-mails) stops.
"""

from __future__ import annotations

import hashlib
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from sanitizer.keys import MEMO_PROBE, MEMO_VALUES, Keyring

KEY = "test-key-0123456789abcdef"


def plain(keyring: Keyring, domain: str, values: list[bytes], size: int) -> list[bytes]:
    return [hashlib.blake2b(v, key=keyring.subkey(domain), digest_size=size).digest() for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.binary(max_size=12), max_size=300), min_size=1, max_size=8),
       st.sampled_from([8, 16, 32]))
def test_digests_are_those_of_keyed_blake2b_whatever_was_seen_before(batches: list[list[bytes]], size: int) -> None:
    keyring = Keyring(KEY)
    for batch in batches:
        assert keyring.digests("fake|kind=first_name", batch, size=size) == plain(keyring, "fake|kind=first_name",
                                                                                  batch, size)


def test_repeating_values_are_remembered_up_to_a_bound() -> None:
    keyring = Keyring(KEY)
    names = [f"name-{i}".encode() for i in range(MEMO_VALUES + 5000)]
    for _ in range(3):
        assert keyring.digests("d", names, size=8) == plain(keyring, "d", names, 8)
    memo = keyring._memos[("d", 8)]
    assert not memo.off
    assert len(memo.digests) == MEMO_VALUES  # bounded, whatever the number of distinct values
    assert memo.hits >= 2 * MEMO_VALUES


def test_a_domain_that_never_repeats_stops_remembering() -> None:
    keyring = Keyring(KEY)
    for start in range(0, 4 * MEMO_PROBE, MEMO_PROBE // 2):
        batch = [f"user{i}@example.org".encode() for i in range(start, start + MEMO_PROBE // 2)]
        assert keyring.digests("email", batch) == plain(keyring, "email", batch, 16)
    memo = keyring._memos[("email", 16)]
    assert memo.off and memo.digests == {}


def test_a_keyring_sent_to_a_worker_carries_the_key_not_the_memo() -> None:
    keyring = Keyring(KEY)
    keyring.digests("d", [b"Anna", b"Ben"])
    copy = pickle.loads(pickle.dumps(keyring))
    assert copy.fingerprint == keyring.fingerprint
    assert copy._memos == {}
    assert copy.digests("d", [b"Anna"]) == keyring.digests("d", [b"Anna"])
