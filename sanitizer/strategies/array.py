"""array: apply a strategy to every element of a list column or a PostgreSQL array literal."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from ..errors import ConfigError
from ..schema.model import ColumnInfo
from ._nested import apply_to_leaves, build_nested
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

SPECIAL = set('{},"\\') | {" ", "\t", "\n", "\r"}


class ArrayParams(StrategyParams):
    element: Any = Field(..., description="The rule applied to each element, e.g. email or {strategy: hash}.")

    @field_validator("element")
    @classmethod
    def _valid(cls, element: Any) -> Any:
        build_nested(element, "element")
        return element


def parse_pg_array(text: str) -> list[Any]:
    """'{a,"b c",NULL,{1,2}}' -> ['a', 'b c', None, ['1', '2']]; ValueError when it is not one."""
    pos = 0

    def parse() -> list[Any]:
        nonlocal pos
        if text[pos] != "{":
            raise ValueError("expected {")
        pos += 1
        items: list[Any] = []
        if text[pos] == "}":
            pos += 1
            return items
        while True:
            if text[pos] == "{":
                items.append(parse())
            elif text[pos] == '"':
                pos += 1
                chars = []
                while text[pos] != '"':
                    if text[pos] == "\\":
                        pos += 1
                    chars.append(text[pos])
                    pos += 1
                pos += 1
                items.append("".join(chars))
            else:
                end = pos
                while text[end] not in ",}":
                    end += 1
                raw = text[pos:end].strip()
                items.append(None if raw.upper() == "NULL" else raw)
                pos = end
            if text[pos] == "}":
                pos += 1
                return items
            if text[pos] != ",":
                raise ValueError("expected , or }")
            pos += 1

    try:
        result = parse()
    except IndexError:
        raise ValueError("unterminated array") from None
    if pos != len(text):
        raise ValueError("text after the array")
    return result


def format_pg_array(items: list[Any]) -> str:
    parts = []
    for item in items:
        if isinstance(item, list):
            parts.append(format_pg_array(item))
        elif item is None:
            parts.append("NULL")
        else:
            s = str(item)
            if not s or s.upper() == "NULL" or any(c in SPECIAL for c in s):
                s = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(s)
    return "{" + ",".join(parts) + "}"


def _leaves(items: list[Any], out: list[tuple[list[Any], int]]) -> None:
    for i, item in enumerate(items):
        if isinstance(item, list):
            _leaves(item, out)
        elif item is not None:
            out.append((items, i))


@register
class Array(Strategy[ArrayParams]):
    """Apply a strategy to each element of an array: Arrow list columns or PostgreSQL text[] literals.

    Elements of all rows go through the element strategy as one batch, so it keeps its keyed,
    per-value mapping ("{a@x.io,b@y.io}" elements map like an email column). NULL elements stay NULL.

    Example: element=email: '{jane@x.io,bob@y.io}' -> '{maria.lopez@example.com,tom.reed@example.com}'
    """

    name: ClassVar[str] = "array"
    may_keep_value: ClassVar[str] = "elements are masked, empty arrays stay"
    params_model: ClassVar[type[StrategyParams]] = ArrayParams
    example: ClassVar[str] = "emails: {strategy: array, element: email}"

    @cached_property
    def _element(self) -> Strategy:
        return build_nested(self.params.element, "element")

    def check(self, column: ColumnInfo) -> str | None:
        t = column.arrow_type
        if not (column.is_text or pa.types.is_list(t) or pa.types.is_large_list(t)):
            return f"array works on list columns and array text literals but the column is {column.type_name}"
        return super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
            flat = pc.list_flatten(values)
            column = ColumnInfo(table=ctx.column.table, name=f"{ctx.column.name}[]", type_name="element",
                                arrow_type=flat.type)
            new = self._element.apply(flat, Context(ctx.keyring, column))
            offsets = pc.subtract(values.offsets, values.offsets[0])
            rebuilt = type(values).from_arrays(offsets, new, mask=pc.is_null(values))
            return rebuilt
        return map_distinct(values, lambda d: self._literals(d, ctx))

    def _literals(self, distinct: pa.Array, ctx: Context) -> pa.Array:
        parsed = []
        for text in distinct.to_pylist():
            try:
                parsed.append(parse_pg_array(text.strip()))
            except ValueError as exc:
                raise ConfigError(f"{ctx.column.qualified}: a value is not a PostgreSQL array literal ({exc})") \
                    from None
        spots: list[tuple[list[Any], int]] = []
        for items in parsed:
            _leaves(items, spots)
        new = apply_to_leaves(self._element, [c[i] for c, i in spots], ctx, "[]")
        for (container, i), value in zip(spots, new, strict=True):
            container[i] = value
        return pa.array([format_pg_array(items) for items in parsed], pa.string())
