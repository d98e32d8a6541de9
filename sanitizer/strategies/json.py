"""json: apply strategies at JSON paths inside json, jsonb or text columns."""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field, field_validator

from ..errors import ConfigError
from ..schema.model import ColumnInfo
from ._nested import apply_to_leaves, build_nested
from ._util import require_text
from .base import Context, Strategy, StrategyParams, map_distinct
from .registry import register

TOKEN = re.compile(r"\.([A-Za-z_][\w-]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]|\[\*\]|\.\*")
WILDCARD = object()


def parse_path(path: str) -> list[Any]:
    """'$.a.b[0][*]' -> ['a', 'b', 0, WILDCARD]; raises ValueError on anything else."""
    if not path.startswith("$"):
        raise ValueError(f"JSON path {path!r} must start with $")
    steps, pos = [], 1
    while pos < len(path):
        m = TOKEN.match(path, pos)
        if m is None:
            raise ValueError(f"JSON path {path!r}: cannot read {path[pos:]!r}; use $.key, $['key'], [0] or [*]")
        name, quoted, index = m.groups()
        steps.append(name if name is not None else quoted if quoted is not None
                     else int(index) if index is not None else WILDCARD)
        pos = m.end()
    if not steps:
        raise ValueError(f"JSON path {path!r} selects the whole document; use the strategy on the column")
    return steps


def locate(doc: Any, steps: list[Any]) -> list[tuple[Any, Any]]:
    """(container, key) of every scalar the path reaches in doc."""
    found: list[tuple[Any, Any]] = []
    frontier = [(None, None, doc)]
    for depth, step in enumerate(steps):
        last = depth == len(steps) - 1
        nxt = []
        for _, _, node in frontier:
            if step is WILDCARD:
                keys = range(len(node)) if isinstance(node, list) else list(node) if isinstance(node, dict) else []
            elif isinstance(step, int):
                keys = [step] if isinstance(node, list) and step < len(node) else []
            else:
                keys = [step] if isinstance(node, dict) and step in node else []
            nxt.extend((node, k, node[k]) for k in keys)
        frontier = nxt
        if last:
            found = [(c, k) for c, k, v in frontier if not isinstance(v, dict | list) and not isinstance(v, bool)]
    return found


class JsonParams(StrategyParams):
    paths: dict[str, Any] = Field(..., min_length=1, description="JSON path -> rule, e.g. {'$.contact.email': "
                                                                 "{strategy: email}, '$.tags[*]': hash}.")
    on_invalid: Literal["error", "nullify"] = Field("error", description="A value that is not JSON: stop the "
                                                                         "run (error) or write NULL (nullify).")

    @field_validator("paths")
    @classmethod
    def _valid(cls, paths: dict[str, Any]) -> dict[str, Any]:
        for path, rule in paths.items():
            parse_path(path)
            build_nested(rule, f"paths.{path}")
        return paths


@register
class Json(Strategy[JsonParams]):
    """Apply a strategy at each JSON path inside a json, jsonb or text column; the rest is kept.

    Each distinct document is parsed once; the values a path reaches across the batch go through
    its strategy together, under that strategy's own domain (so "$.email" pseudonymises like an
    email column). Output is re-serialised compactly. Paths: $.a.b, $['a b'], $.list[0], $.list[*].

    Example: paths={"$.contact.email": email}: '{"contact": {"email": "j@x.io"}}' -> '{"contact": {"email": "maria.lopez@example.com"}}'
    """  # noqa: E501

    name: ClassVar[str] = "json"
    may_keep_value: ClassVar[str] = "the given paths may not occur"
    params_model: ClassVar[type[StrategyParams]] = JsonParams
    example: ClassVar[str] = "profile: {strategy: json, paths: {'$.email': email, '$.phones[*]': phone}}"

    @cached_property
    def _nested(self) -> list[tuple[str, list[Any], Strategy]]:
        return [(p, parse_path(p), build_nested(rule, f"paths.{p}")) for p, rule in sorted(self.params.paths.items())]

    def check(self, column: ColumnInfo) -> str | None:
        return require_text(self.name, column) or super().check(column)

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        return map_distinct(values, lambda d: self._rewrite(d, ctx))

    def _rewrite(self, distinct: pa.Array, ctx: Context) -> pa.Array:
        docs: list[Any] = []
        invalid = 0
        for text in distinct.to_pylist():
            try:
                docs.append(json.loads(text))
            except ValueError:
                docs.append(WILDCARD)
                invalid += 1
        if invalid and self.params.on_invalid == "error":
            raise ConfigError(f"{ctx.column.qualified}: {invalid} value(s) are not valid JSON; fix the data or "
                              "set on_invalid: nullify")
        for path, steps, strategy in self._nested:
            spots = [spot for doc in docs if doc is not WILDCARD for spot in locate(doc, steps)]
            new = apply_to_leaves(strategy, [c[k] for c, k in spots], ctx, path[1:])
            for (container, key), value in zip(spots, new, strict=True):
                container[key] = value
        out = [None if doc is WILDCARD else json.dumps(doc, ensure_ascii=False, separators=(", ", ": "))
               for doc in docs]
        return pa.array(out, pa.string())
