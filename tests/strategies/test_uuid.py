import uuid as std_uuid

from strategy_helpers import OTHER_KEY, column, run, strategy


def test_output_is_a_version_4_uuid_and_deterministic() -> None:
    out = run("uuid", ["a", "b", "a", None])
    parsed = std_uuid.UUID(out[0])
    assert parsed.version == 4 and parsed.variant == std_uuid.RFC_4122
    assert out[0] == out[2] != out[1] and out[3] is None
    assert run("uuid", ["a"], key=OTHER_KEY)[0] != out[0]


def test_refuses_columns_too_short_for_a_uuid() -> None:
    assert "36 characters" in strategy("uuid").check(column(max_length=32))
