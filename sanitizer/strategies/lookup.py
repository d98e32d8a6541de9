"""lookup: a value from your own CSV dictionary, picked by a keyed hash."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from pydantic import Field, ValidationInfo, field_validator

from ._util import pick
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register


class LookupParams(StrategyParams):
    file: Path = Field(..., description="A CSV file with a header row (relative to the working directory).")
    column: str = Field(..., min_length=1, description="The CSV column whose values are picked from.")

    @field_validator("column")
    @classmethod
    def _readable(cls, column: str, info: ValidationInfo) -> str:
        path = info.data.get("file")
        if path is not None:
            load_dictionary(path, column, _mtime(path))
        return column


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the lookup file ({exc.strerror}); check the path") from None


@lru_cache(maxsize=32)
def load_dictionary(path: Path, column: str, mtime: float) -> pa.Array:
    """The distinct non-empty values of one CSV column, in file order (cached per file version)."""
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={column: pa.string()}))
    except (OSError, pa.ArrowInvalid) as exc:
        raise ValueError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    if column not in table.column_names:
        raise ValueError(f"{path}: no column {column!r}; columns are: {', '.join(table.column_names)}")
    values = table.column(column).combine_chunks().drop_null()
    values = pc.unique(values.filter(pc.greater(pc.utf8_length(values), 0)))
    if len(values) < 2:
        raise ValueError(f"{path}: column {column!r} needs at least 2 distinct non-empty values")
    return values


@register
class Lookup(Strategy[LookupParams]):
    """Replace the value with one from a column of your CSV file, picked by a keyed hash.

    For domain data Faker lacks (product codes, internal team names). An input that appears in
    the dictionary never maps to itself.

    Example: file=rules/examples/cities.csv, column=city: "Leeds" -> "Bristol"
    """

    name: ClassVar[str] = "lookup"
    params_model: ClassVar[type[StrategyParams]] = LookupParams
    example: ClassVar[str] = "team: {strategy: lookup, file: rules/examples/teams.csv, column: team}"

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        pool = load_dictionary(self.params.file, self.params.column, _mtime(self.params.file))
        return map_distinct(values, lambda d: pick(pool, ctx.uint64(self.domain(), d),
                                                   avoid=d if pa.types.is_string(d.type) else None))
