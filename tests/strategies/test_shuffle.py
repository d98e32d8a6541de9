from collections import Counter

from strategy_helpers import run


def test_values_move_nulls_stay() -> None:
    values = [f"v{i}" for i in range(50)] + [None]
    out = run("shuffle", values)
    assert out[-1] is None and Counter(out) == Counter(values) and out != values
