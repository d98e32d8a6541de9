from strategy_helpers import run

from sanitizer.strategies._detect import find_spans

TEXT = ("Hi, I am Jennifer Walsh (jen.w@gmail.com), card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, "
        "SSN 123-45-6789, call +44 20 7946 0958. IP 192.168.0.1. Mr. Okafor said May the 4th.")


def test_finds_each_kind_and_confirms_checksums() -> None:
    kinds = [e for _, _, e in find_spans(TEXT)]
    assert kinds == ["NAME", "EMAIL", "CARD", "IBAN", "SSN", "PHONE", "IP", "NAME"]
    assert not [e for *_, e in find_spans("card 4111 1111 1111 1112, SSN 000-12-3456") if e in ("CARD", "SSN")]


def test_placeholders() -> None:
    out = run({"strategy": "scrub", "replace": "placeholder"}, [TEXT])[0]
    assert out.startswith("Hi, I am <NAME> (<EMAIL>), card <CARD>, IBAN <IBAN>, SSN <SSN>, call <PHONE>.")
    assert "May the 4th" in out


def test_fakes_are_keyed_per_span_and_nothing_original_survives() -> None:
    a, b = run("scrub", [TEXT, "write to jen.w@gmail.com", None])[:2]
    for secret in ("Jennifer", "jen.w@gmail.com", "4111 1111", "123-45-6789", "7946 0958", "192.168.0.1"):
        assert secret not in a
    assert b.split()[-1] in a  # the same e-mail, the same fake


def test_text_without_pii_is_untouched() -> None:
    assert run("scrub", ["the order shipped on 2023-03-14"]) == ["the order shipped on 2023-03-14"]
