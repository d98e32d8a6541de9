from strategy_helpers import run

from sanitizer.strategies._digits import luhn_valid


def test_keeps_separators_and_letters() -> None:
    out = run("digits", ["AB-1234-x", None])
    assert out[0][:3] == "AB-" and out[0][-2:] == "-x" and out[0] != "AB-1234-x" and out[1] is None


def test_luhn_result_passes_the_check() -> None:
    cards = ["4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009"]
    out = run({"strategy": "digits", "luhn": True}, cards)
    assert all(luhn_valid(c) for c in out) and all(a != b for a, b in zip(cards, out, strict=True))


def test_long_numbers_are_permuted_in_chunks() -> None:
    value = "1" * 40
    out = run("digits", [value])[0]
    assert len(out) == 40 and out.isdigit() and out != value


def test_values_without_digits_pass_through() -> None:
    assert run("digits", ["n/a"]) == ["n/a"]
