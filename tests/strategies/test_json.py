import json

import pytest
from strategy_helpers import run, strategy

from sanitizer.errors import ConfigError

RULE = {"strategy": "json", "paths": {"$.contact.email": "email", "$.phones[*]": "phone", "$['full name']": "hash"}}


def test_paths_are_rewritten_and_the_rest_kept() -> None:
    doc = {"contact": {"email": "j@x.io"}, "phones": ["+44 20 7946 0958"], "full name": "Jane", "plan": "pro"}
    out = json.loads(run(RULE, [json.dumps(doc), None])[0])
    assert out["plan"] == "pro" and out["contact"]["email"].endswith("@example.com")
    assert out["phones"][0].startswith("+44 ") and out["phones"][0] != doc["phones"][0]
    assert out["full name"] != "Jane"


def test_nested_values_map_like_the_column_strategy() -> None:
    nested = json.loads(run(RULE, ['{"contact": {"email": "j@x.io"}}'])[0])["contact"]["email"]
    assert nested == run("email", ["j@x.io"])[0]


def test_invalid_json_is_an_error_or_null() -> None:
    with pytest.raises(ConfigError, match="1 value"):
        run(RULE, ["{nope"])
    assert run({**RULE, "on_invalid": "nullify"}, ["{nope"]) == [None]


def test_bad_nested_rule_names_the_path() -> None:
    with pytest.raises(ConfigError, match=r"paths\.\$\.a: unknown strategy"):
        strategy({"strategy": "json", "paths": {"$.a": "nosuch"}})
