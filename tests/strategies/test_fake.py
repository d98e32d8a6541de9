import base64

import numpy as np
import pyarrow as pa
from strategy_helpers import context, run, strategy


def test_unique_tag_is_base32_of_the_high_bits_as_before() -> None:
    rule = {"strategy": "fake", "kind": "email", "unique": True}
    s = strategy(rule)
    ctx = context()
    h = ctx.uint64(s.domain(), pa.array(["a"]))[0]
    tag = base64.b32encode(int(h >> np.uint64(24)).to_bytes(5, "big")).decode().lower()
    assert f".{tag}@" in run(rule, ["a"])[0]


def test_pool_cache_returns_the_same_pool_and_survives_a_damaged_file(tmp_path, monkeypatch) -> None:
    from sanitizer.strategies import _pool_cache
    from sanitizer.strategies.fake import fake_pool

    monkeypatch.setenv("SANITIZER_CACHE_DIR", str(tmp_path))
    fake_pool.cache_clear()
    drawn = fake_pool("street_address", "de_DE", 300)
    files = list(tmp_path.glob("pool-*.arrow"))
    assert len(files) == 1
    fake_pool.cache_clear()
    assert fake_pool("street_address", "de_DE", 300).equals(drawn)  # read back from the cache
    files[0].write_bytes(b"not an arrow file")
    fake_pool.cache_clear()
    assert _pool_cache.load("street_address", "de_DE", 300) is None
    assert fake_pool("street_address", "de_DE", 300).equals(drawn)  # drawn again, same values
    fake_pool.cache_clear()


def test_a_unique_fake_email_is_its_pool_entry_with_the_tag_before_the_host() -> None:
    """local@host from the pool becomes local.TAG@host, for every row of a batch (the parts are split
    once per pool, then taken per row)."""
    from sanitizer.strategies.fake import fake_pool

    rule = {"strategy": "fake", "kind": "email", "unique": True}
    s = strategy(rule)
    ctx = context()
    values = [f"person{i}@example.org" for i in range(5000)]
    out = s.apply(pa.array(values), ctx).to_pylist()
    hashes = ctx.uint64(s.domain(), pa.array(values))
    pool = fake_pool(s.params.kind, s.params.locale, s.params.pool_size).to_pylist()
    for value, h in zip(out, hashes, strict=True):
        entry = pool[int(h % np.uint64(len(pool)))]
        tag = base64.b32encode(int(h >> np.uint64(24)).to_bytes(5, "big")).decode().lower()
        local, host = entry.split("@", 1)
        assert value == f"{local}.{tag}@{host}"
    assert len(set(out)) == len(out)
