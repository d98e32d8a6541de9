"""template: build a value from other columns' sanitized values of the same row."""

from __future__ import annotations

import string
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from ..errors import ConfigError
from ..schema.model import ColumnInfo
from ._util import keep_nulls, require_text
from .base import Context, Strategy, StrategyParams
from .registry import register


def _parts(template: str) -> list[tuple[str, str | None]]:
    """(literal, field or None) pairs; format specs and conversions are not supported."""
    out = []
    for literal, field, spec, conversion in string.Formatter().parse(template):
        if spec or conversion:
            raise ValueError(f"only plain {{column}} fields are supported (got {field}!{conversion}:{spec})")
        if field is not None and not field.isidentifier():
            raise ValueError(f"{{{field}}} is not a column name")
        out.append((literal, field))
    return out


class TemplateParams(StrategyParams):
    template: str = Field(..., min_length=1, description="Text with {column} fields, filled with the SANITIZED "
                                                         "values of the same row; {{ and }} are literal braces.")

    @field_validator("template")
    @classmethod
    def _parses(cls, template: str) -> str:
        try:
            _parts(template)
        except ValueError as exc:
            raise ValueError(f"bad template: {exc}") from None
        return template


@register
class Template(Strategy[TemplateParams]):
    """Build the value from other columns of the row, after they are sanitized; NULL stays NULL.

    The referenced columns are sanitized first (depends_on), so an e-mail made from fake first and
    last names matches them. A NULL field is written as "". Vectorized with binary_join_element_wise.

    Example: template="{first_name}.{last_name}@example.com": -> "maria.lopez@example.com"
    """

    name: ClassVar[str] = "template"
    keyed: ClassVar[bool] = False
    may_keep_value: ClassVar[str] = "builds from other columns"
    params_model: ClassVar[type[StrategyParams]] = TemplateParams
    example: ClassVar[str] = "email: {strategy: template, template: '{first_name}.{last_name}@example.com'}"

    def depends_on(self) -> set[str]:
        return {field for _, field in _parts(self.params.template) if field is not None}

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column) or super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        n = len(values)
        pieces: list[pa.Array | str] = []
        for literal, field in _parts(self.params.template):
            if literal:
                pieces.append(pa.repeat(pa.scalar(literal), n))
            if field is not None:
                if field not in ctx.output:
                    raise ConfigError(f"{ctx.column.qualified}: template field {{{field}}} is not a sanitized "
                                      f"column of {ctx.column.table}")
                col = ctx.output[field]
                pieces.append(col if pa.types.is_string(col.type) else pc.cast(col, pa.string()))
        if not pieces:
            return keep_nulls(values, pa.repeat(pa.scalar(""), n))
        out = pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement="")
        return keep_nulls(values, out)
