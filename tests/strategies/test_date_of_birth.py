import datetime as dt

import pyarrow as pa
from strategy_helpers import run

REF = dt.date(2025, 1, 1)


def _age(born: dt.date) -> int:
    return REF.year - born.year - ((born.month, born.day) > (REF.month, REF.day))


def test_age_band_is_kept_and_date_changes() -> None:
    born = [dt.date(1987, 5, 2), dt.date(1995, 1, 1), dt.date(1985, 1, 2), dt.date(2020, 2, 29)]
    out = run("date_of_birth", born, pa.date32())
    for old, new in zip(born, out, strict=True):
        assert _age(old) // 10 == _age(new) // 10 and old != new
