import datetime as dt

import pyarrow as pa
from strategy_helpers import context, strategy

RULE = {"strategy": "date_shift", "days": 30, "seed_columns": ["patient_id"]}


def test_all_dates_of_one_entity_shift_alike() -> None:
    ctx = context(pa.date32(), original={"patient_id": pa.array([1, 1, 2])})
    admitted = [dt.date(2023, 3, 1), dt.date(2023, 5, 1), dt.date(2023, 3, 1)]
    discharged = [dt.date(2023, 3, 9), dt.date(2023, 5, 2), None]
    a = strategy(RULE).apply(pa.array(admitted), ctx).to_pylist()
    d = strategy(RULE).apply(pa.array(discharged), ctx).to_pylist()
    assert (d[0] - a[0]).days == 8 and (a[1] - a[0]).days == (admitted[1] - admitted[0]).days
    assert d[2] is None and all(0 < abs((n - o).days) <= 30 for n, o in zip(a, admitted, strict=True))


def test_timestamps_keep_their_time_of_day() -> None:
    ts = pa.array([dt.datetime(2020, 1, 1, 13, 5)], pa.timestamp("us"))
    out = strategy({"strategy": "date_shift", "days": 5}).apply(ts, context(pa.timestamp("us"))).to_pylist()[0]
    assert out.time() == dt.time(13, 5) and out.date() != dt.date(2020, 1, 1)
