import re

import pytest
from strategy_helpers import run

from sanitizer.errors import ConfigError
from sanitizer.rules import build_strategy


def test_default_is_first_last_at_a_reserved_domain() -> None:
    out = run("email", ["jane@acme.io", None, "jane@acme.io"])
    assert re.fullmatch(r"[a-z]+\.[a-z]+@example\.com", out[0]) and out[1] is None and out[0] == out[2]


def test_domain_keep_and_fixed() -> None:
    assert run({"strategy": "email", "email_domain": "keep"}, ["jane@acme.io"])[0].endswith("@acme.io")
    assert run({"strategy": "email", "email_domain": "test.local.dev"}, ["x@y.z"])[0].endswith("@test.local.dev")


def test_unique_adds_a_tag() -> None:
    out = run({"strategy": "email", "unique": True}, ["a@x.io"])[0]
    assert re.fullmatch(r"[a-z]+\.[a-z]+\.[a-z2-7]{8}@example\.com", out)


def test_bad_domain_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="email_domain"):
        build_strategy({"strategy": "email", "email_domain": "not a domain"}, "test")
