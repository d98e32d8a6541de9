"""Laws every registered strategy keeps, checked with hypothesis on its example rule and natural input.

NULL in -> NULL out; same key -> same output across separately built batches and batch splits;
different key -> different output (keyed strategies); a non-empty value never comes back unchanged
(value-replacing strategies); distinct stays distinct (can_be_unique strategies); output fits the type.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategy_helpers import KEY, OTHER_KEY, context, strategy

from sanitizer.strategies import registry
from sanitizer.strategies.array import format_pg_array

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
WORDS = st.from_regex(r"[A-Za-z][a-z]{1,12}", fullmatch=True)
PHONES = st.from_regex(r"\+?[1-9][0-9]{1,3}[ -]?[0-9]{3}[ -]?[0-9]{2,6}", fullmatch=True)
DATES = st.dates(dt.date(1930, 1, 1), dt.date(2024, 12, 31))
INTS = st.integers(1, 99_999_999)
JSON_DOCS = st.builds(lambda e, p: json.dumps({"email": e, "phones": p, "n": 1}), WORDS, st.lists(PHONES, max_size=3))
NOTES = st.builds(lambda w, n: f"ticket from {w}{n}@example.org: please call", WORDS, st.integers(0, 999))
PG_ARRAYS = st.lists(TEXT, min_size=1, max_size=4).map(format_pg_array)


def _double(values: pa.Array, ctx: Any) -> pa.Array:
    return pc.multiply(values, 2)


# name -> (rule override or None for the example rule, arrow type, values)
NATURAL: dict[str, tuple[Any, pa.DataType, st.SearchStrategy]] = {
    "hash": ("hash", pa.string(), TEXT),  # the example's 12 characters are too few for unique
    "int_permute": (None, pa.int64(), INTS),
    "noise": (None, pa.int64(), INTS),
    "round": (None, pa.int64(), INTS),
    "generalize": ({"strategy": "generalize", "step": 10}, pa.int64(), INTS),
    "date_shift": ({"strategy": "date_shift", "days": 30}, pa.date32(), DATES),
    "date_of_birth": (None, pa.date32(), DATES),
    "digits": (None, pa.string(), PHONES),
    "phone": (None, pa.string(), PHONES),
    "json": (None, pa.string(), JSON_DOCS),
    "array": (None, pa.string(), PG_ARRAYS),
    "person": ({"strategy": "person", "field": "full_name"}, pa.string(), TEXT),
    "custom": ({"strategy": "custom", "function": "test_laws:_double"}, pa.int64(), INTS),
    "template": ({"strategy": "template", "template": "fixed text"}, pa.string(), TEXT),
    "lookup": ("LOOKUP", pa.string(), TEXT),
    "scrub": (None, pa.string(), NOTES),
}
NOT_KEYED = {name for name, cls in registry.strategies().items() if not cls.keyed}
MAY_KEEP_VALUE = {name: cls.may_keep_value for name, cls in registry.strategies().items() if cls.may_keep_value}
PER_BATCH = {"shuffle"}


def rule_for(name: str, tmp_csv: str) -> tuple[Any, pa.DataType, st.SearchStrategy]:
    override, arrow_type, values = NATURAL.get(name, (None, pa.string(), TEXT))
    if override == "LOOKUP":
        override = {"strategy": "lookup", "file": tmp_csv, "column": "team"}
    if override is None:
        example = yaml.safe_load(registry.get(name).example)
        override = next(iter(example.values()))
    return override, arrow_type, values


@pytest.fixture(scope="module")
def teams_csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("lookup") / "teams.csv"
    path.write_text("team\nRed\nBlue\nGreen\nYellow\n")
    return str(path)


NAMES = sorted(registry.strategies())
LAW_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def apply(rule: Any, values: list[Any], arrow_type: pa.DataType, key: str = KEY, unique: bool = False) -> pa.Array:
    return strategy(rule).apply(pa.array(values, arrow_type), context(arrow_type, key=key, unique=unique))


def test_every_strategy_has_example_and_docs() -> None:
    for name, cls in registry.strategies().items():
        assert cls.example and yaml.safe_load(cls.example), name
        assert "Example:" in (cls.__doc__ or ""), name
        assert cls.summary(), name


@pytest.mark.parametrize("name", NAMES)
@LAW_SETTINGS
@given(data=st.data())
def test_null_in_null_out(name: str, data: st.DataObject, teams_csv: str) -> None:
    rule, arrow_type, values = rule_for(name, teams_csv)
    batch = data.draw(st.lists(st.one_of(st.none(), values), min_size=1, max_size=8))
    out = apply(rule, batch, arrow_type)
    assert len(out) == len(batch)
    for original, new in zip(batch, out.to_pylist(), strict=True):
        if original is None:
            assert new is None


@pytest.mark.parametrize("name", NAMES)
@LAW_SETTINGS
@given(data=st.data())
def test_same_key_same_output_across_batches(name: str, data: st.DataObject, teams_csv: str) -> None:
    rule, arrow_type, values = rule_for(name, teams_csv)
    if name in PER_BATCH:
        pytest.skip("documented as per batch")
    batch = data.draw(st.lists(values, min_size=2, max_size=8))
    split = data.draw(st.integers(1, len(batch) - 1))
    whole = apply(rule, batch, arrow_type).to_pylist()
    parts = apply(rule, batch[:split], arrow_type).to_pylist() + apply(rule, batch[split:], arrow_type).to_pylist()
    assert whole == parts
    assert apply(rule, list(reversed(batch)), arrow_type).to_pylist() == list(reversed(whole))


@pytest.mark.parametrize("name", sorted(set(NAMES) - NOT_KEYED - {"password"}))
@LAW_SETTINGS
@given(data=st.data())
def test_different_key_different_output(name: str, data: st.DataObject, teams_csv: str) -> None:
    rule, arrow_type, values = rule_for(name, teams_csv)
    batch = data.draw(st.lists(values, min_size=12, max_size=12, unique=True))
    if name == "json":  # only the email path of the example is certain to occur
        batch = [json.dumps({"email": f"user{i}@x.io"}) for i in range(12)]
    assert apply(rule, batch, arrow_type, KEY).to_pylist() != apply(rule, batch, arrow_type, OTHER_KEY).to_pylist()


@pytest.mark.parametrize("name", sorted(set(NAMES) - set(MAY_KEEP_VALUE)))
@LAW_SETTINGS
@given(data=st.data())
def test_value_never_comes_back_unchanged(name: str, data: st.DataObject, teams_csv: str) -> None:
    rule, arrow_type, values = rule_for(name, teams_csv)
    batch = data.draw(st.lists(values, min_size=1, max_size=8))
    if name == "lookup":
        batch += ["Red", "Blue"]
    for original, new in zip(batch, apply(rule, batch, arrow_type).to_pylist(), strict=True):
        assert new != original


@pytest.mark.parametrize("name", sorted(n for n in NAMES if registry.get(n).can_be_unique))
@LAW_SETTINGS
@given(data=st.data())
def test_unique_stays_unique(name: str, data: st.DataObject, teams_csv: str) -> None:
    rule, arrow_type, values = rule_for(name, teams_csv)
    s = strategy(rule)
    if s.check(context(arrow_type, unique=True).column) is not None:
        pytest.skip(f"{name} example rule refuses unique columns: {s.check(context(arrow_type, unique=True).column)}")
    batch = data.draw(st.lists(values, min_size=1, max_size=30, unique=True))
    out = apply(rule, batch, arrow_type, unique=True).to_pylist()
    assert len(set(out)) == len(batch)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_output_fits_the_column_type(name: str, data: st.DataObject, teams_csv: str) -> None:
    rule, arrow_type, values = rule_for(name, teams_csv)
    batch = data.draw(st.lists(values, min_size=1, max_size=5))
    out = apply(rule, batch, arrow_type)
    pc.cast(out, arrow_type)  # what the pipeline's fit_to_column does; must not raise
