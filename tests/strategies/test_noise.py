import datetime as dt

import pyarrow as pa
from strategy_helpers import column, run, strategy


def test_relative_noise_stays_within_bounds_and_moves_integers() -> None:
    values = list(range(100, 200))
    out = run({"strategy": "noise", "relative": 0.1}, values, pa.int64())
    assert all(abs(o - v) <= v * 0.1 + 1 and o != v for o, v in zip(out, values, strict=True))


def test_dates_move_by_whole_days_and_need_absolute() -> None:
    out = run({"strategy": "noise", "absolute": 3}, [dt.date(2020, 1, 1)], pa.date32())[0]
    assert 0 < abs((out - dt.date(2020, 1, 1)).days) <= 3
    assert "absolute" in strategy({"strategy": "noise", "relative": 0.1}).check(column(pa.date32()))
