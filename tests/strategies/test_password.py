import re

import pytest
from strategy_helpers import column, run, strategy

from sanitizer.errors import ConfigError

KNOWN = "$2b$12$" + "C" * 22 + "E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"


def test_keyed_mode_gives_bcrypt_shaped_strings() -> None:
    out = run("password", ["$2b$12$abc", None])
    assert re.fullmatch(r"\$2b\$12\$[./A-Za-z0-9]{53}", out[0]) and out[1] is None


def test_fixed_mode_writes_the_known_hash_and_refuses_unique() -> None:
    rule = {"strategy": "password", "mode": "fixed", "hash": KNOWN}
    assert run(rule, ["x", "y"]) == [KNOWN, KNOWN]
    assert "cannot be unique" in strategy(rule).check(column(unique=True))


def test_fixed_mode_needs_a_bcrypt_hash() -> None:
    with pytest.raises(ConfigError, match="hash"):
        strategy({"strategy": "password", "mode": "fixed"})
    with pytest.raises(ConfigError, match="hash"):
        strategy({"strategy": "password", "mode": "fixed", "hash": "plaintext"})
