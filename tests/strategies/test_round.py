import pyarrow as pa
from strategy_helpers import run


def test_step_and_significant_digits() -> None:
    assert run({"strategy": "round", "step": 1000}, [52381, None, -1600], pa.int64()) == [52000, None, -2000]
    assert run({"strategy": "round", "digits": 2}, [52381.0, 0.012345], pa.float64()) == [52000.0, 0.012]
