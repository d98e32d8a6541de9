import re

from strategy_helpers import run


def test_usernames_look_like_logins() -> None:
    for name in run("username", [f"user{i}" for i in range(20)]):
        assert re.fullmatch(r"[a-z]+[._]?[a-z]+\d{1,2}|[a-z][._]?[a-z]+\d{1,2}", name), name


def test_unique_usernames_carry_a_tag() -> None:
    out = run({"strategy": "username", "unique": True}, ["a", "b"])
    assert all(re.search(r"[a-z2-7]{8}$", u) for u in out) and out[0] != out[1]
