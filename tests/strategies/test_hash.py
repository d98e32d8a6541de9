from strategy_helpers import context, run, strategy

from sanitizer.strategies.hash import ALPHABETS


def test_non_hex_alphabets_match_the_big_integer_definition() -> None:
    rule = {"strategy": "hash", "alphabet": "alnum", "length": 20, "prefix": "x_"}
    s = strategy(rule)
    digest = context().digest_matrix(s.domain(), __import__("pyarrow").array(["a"]), size=32)[0].tobytes()
    n, chars = int.from_bytes(digest, "big"), []
    for _ in range(20):
        n, r = divmod(n, 62)
        chars.append(ALPHABETS["alnum"][r])
    assert run(rule, ["a"]) == ["x_" + "".join(chars)]
