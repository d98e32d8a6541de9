from strategy_helpers import column, run, strategy


def test_text_becomes_empty_and_null_stays_null() -> None:
    assert run("empty", ["secret", None, ""]) == ["", None, ""]


def test_refuses_non_text_columns() -> None:
    import pyarrow as pa

    assert "writes text" in strategy("empty").check(column(pa.int64()))
