import pyarrow as pa
import pytest
from strategy_helpers import context, strategy

from sanitizer.errors import ConfigError

RULE = {"strategy": "template", "template": "{first_name}.{last_name}@example.com"}


def test_built_from_sanitized_columns_of_the_row() -> None:
    s = strategy(RULE)
    assert s.depends_on() == {"first_name", "last_name"}
    names = {"first_name": pa.array(["maria", "tom", None]), "last_name": pa.array(["lopez", "reed", "x"])}
    ctx = context(output=names)
    out = s.apply(pa.array(["a", None, "c"]), ctx).to_pylist()
    assert out == ["maria.lopez@example.com", None, ".x@example.com"]


def test_format_specs_are_rejected() -> None:
    with pytest.raises(ConfigError, match="only plain"):
        strategy({"strategy": "template", "template": "{a:>10}"})
