from pathlib import Path

import pytest
from strategy_helpers import run, strategy

from sanitizer.errors import ConfigError


def test_picks_from_the_csv_column(tmp_path: Path) -> None:
    csv = tmp_path / "teams.csv"
    csv.write_text("team,lead\nRed,a\nBlue,b\nGreen,c\n")
    out = run({"strategy": "lookup", "file": str(csv), "column": "team"}, ["Red", "x", None])
    assert out[0] in {"Blue", "Green"} and out[1] in {"Red", "Blue", "Green"} and out[2] is None


def test_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ConfigError, match=r"nope\.csv: cannot read"):
        strategy({"strategy": "lookup", "file": str(missing), "column": "x"})
    csv = tmp_path / "t.csv"
    csv.write_text("a\n1\n2\n")
    with pytest.raises(ConfigError, match=r"t\.csv: no column 'b'; columns are: a"):
        strategy({"strategy": "lookup", "file": str(csv), "column": "b"})
