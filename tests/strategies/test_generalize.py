import datetime as dt

import pyarrow as pa
from strategy_helpers import column, run, strategy


def test_dates_to_period_start_numbers_to_bucket() -> None:
    assert run({"strategy": "generalize", "to": "year"}, [dt.date(1984, 7, 23)], pa.date32()) == [dt.date(1984, 1, 1)]
    assert run({"strategy": "generalize", "to": "quarter"}, [dt.date(1984, 8, 23)], pa.date32()) == [
        dt.date(1984, 7, 1)]
    assert run({"strategy": "generalize", "step": 10}, [37, None], pa.int64()) == [30, None]


def test_numbers_need_a_step() -> None:
    assert "step" in strategy("generalize").check(column(pa.int64()))
