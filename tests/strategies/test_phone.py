import re

from strategy_helpers import run


def test_keeps_format_and_country_code() -> None:
    out = run("phone", ["+44 20 7946 0958", "(555) 010-1234", "+1-202-555-0143", None])
    assert re.fullmatch(r"\+44 \d\d \d{4} \d{4}", out[0]) and out[0] != "+44 20 7946 0958"
    assert re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", out[1])
    assert out[2].startswith("+1-") and out[3] is None


def test_country_code_without_separator_from_the_e164_table() -> None:
    out = run("phone", ["+442079460958", "+12025550143", "+3531234567"])
    assert out[0].startswith("+44") and out[1].startswith("+1") and out[2].startswith("+353")
