from strategy_helpers import OTHER_KEY, run


def test_company_is_keyed_and_deterministic() -> None:
    out = run("company", ["Initech", "Initech", None])
    assert out[0] == out[1] != "Initech" and out[2] is None
    assert run("company", ["Initech", "Acme", "Globex"], key=OTHER_KEY) != run("company", ["Initech", "Acme", "Globex"])
