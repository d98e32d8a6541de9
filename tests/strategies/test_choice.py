from collections import Counter

import pytest
from strategy_helpers import run, strategy

from sanitizer.errors import ConfigError


def test_weighted_pick_never_returns_a_listed_input() -> None:
    rule = {"strategy": "choice", "values": ["bronze", "silver", "gold"], "weights": [8, 1, 1]}
    out = run(rule, [f"c{i}" for i in range(2000)])
    counts = Counter(out)
    assert counts["bronze"] > counts["silver"] * 3
    assert all(o != i for i, o in zip(["gold"] * 5, run(rule, ["gold"] * 5), strict=True))


def test_weights_must_match_values() -> None:
    with pytest.raises(ConfigError, match="weights has 1 entries"):
        strategy({"strategy": "choice", "values": ["a", "b"], "weights": [1]})
