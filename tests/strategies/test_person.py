import pyarrow as pa
from strategy_helpers import context, strategy


def _row(field: str, values: list, ids: list, **extra: object) -> list:
    ctx = context(original={"id": pa.array(ids)})
    rule = {"strategy": "person", "field": field, "seed_columns": ["id"], **extra}
    return strategy(rule).apply(pa.array(values, pa.string()), ctx).to_pylist()


def test_fields_of_one_row_describe_one_person() -> None:
    ids = [1, 2, 1]
    first = _row("first_name", ["Jane", "Bob", "Janet"], ids)
    last = _row("last_name", ["Doe", "Roe", "Doe"], ids)
    full = _row("full_name", ["Jane Doe", "Bob Roe", "x"], ids)
    email = _row("email", ["j@x.io", "b@x.io", "k@x.io"], ids)
    for i in range(3):
        assert full[i] == f"{first[i]} {last[i]}"
        assert email[i].split("@")[0].split(".")[0] in first[i].lower()
    assert first[0] == first[2]  # same seed, same person, whatever the column's own value


def test_null_stays_null_with_seeds() -> None:
    assert _row("first_name", [None, "A"], [1, 2])[0] is None


def test_unique_email_differs_for_one_seed() -> None:
    out = _row("email", ["a@x.io", "b@x.io"], [1, 1], unique=True)
    assert out[0] != out[1]


def test_missing_seed_column_is_a_clear_error() -> None:
    import pytest

    from sanitizer.errors import ConfigError

    with pytest.raises(ConfigError, match="seed column 'nope'"):
        strategy({"strategy": "person", "field": "first_name", "seed_columns": ["nope"]}).apply(
            pa.array(["a"]), context())


def test_names_cannot_be_unique() -> None:
    from strategy_helpers import column

    assert "cannot be kept unique" in strategy({"strategy": "person", "field": "first_name"}).check(
        column(unique=True))
