import pytest
from strategy_helpers import run, strategy

from sanitizer.errors import ConfigError


def test_replaces_matches_with_groups() -> None:
    rule = {"strategy": "regex", "pattern": r"(\d{2})\d{2}", "replacement": r"\1##"}
    assert run(rule, ["PIN 1234", None]) == ["PIN 12##", None]


def test_bad_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="pattern: not a valid RE2 pattern"):
        strategy({"strategy": "regex", "pattern": "(?=x)", "replacement": ""})
