from strategy_helpers import run


def test_full_address_is_one_line_and_parts_are_local() -> None:
    full = run("address", ["1 Main St\nSpringfield"])[0]
    assert "\n" not in full and full
    postcode = run({"strategy": "address", "field": "postcode", "locale": "de_DE"}, ["12345"])[0]
    assert len(postcode) == 5 and postcode.isdigit()
