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
