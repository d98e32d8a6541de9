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
