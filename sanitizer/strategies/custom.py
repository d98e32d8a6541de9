"""custom: your own function, module:function, applied to each batch of the column."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import ClassVar

import pyarrow as pa
from pydantic import Field, field_validator

from ..errors import ConfigError
from .base import Context, Strategy, StrategyParams
from .registry import register


def load_function(path: str) -> Callable:
    """Import "package.module:function"; errors name the path."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{path!r}: expected 'module:function', e.g. 'mycompany.masking:scramble'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{path!r}: cannot import module {module_name!r} ({exc})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"{path!r}: module {module_name!r} has no function {attr!r}")
    return fn


def _required_positional(fn: Callable) -> int:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in positional and p.default is inspect.Parameter.empty)


class CustomParams(StrategyParams):
    function: str = Field(..., description="'module:function' taking a pyarrow Array (and optionally the "
                                           "Context, for keyed randomness via ctx.uint64) and returning "
                                           "an Array of the same length.")
    keyed: bool = Field(True, description="Whether the function uses the key (documentation for reviewers).")

    @field_validator("function")
    @classmethod
    def _importable(cls, path: str) -> str:
        load_function(path)
        return path


@register
class Custom(Strategy[CustomParams]):
    """Apply your own function to each batch: `function: "module:function"`.

    The function gets the column's values as a pyarrow Array (and the Context when it takes two
    arguments) and returns an Array of the same length. For a reusable strategy with its own
    parameters, write a Strategy subclass instead and expose it in the `sanitizer.strategies`
    entry-point group of your package: the registry loads that group, so it is listed and
    validated like a built-in.

    Example: function="mycompany.masking:scramble": "ACME-0042" -> "ACME-9317"
    """

    name: ClassVar[str] = "custom"
    keyed: ClassVar[bool] = False
    may_keep_value: ClassVar[str] = "whatever the function does"
    params_model: ClassVar[type[StrategyParams]] = CustomParams
    example: ClassVar[str] = "sku: {strategy: custom, function: 'mycompany.masking:scramble'}"

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        fn = load_function(self.params.function)
        takes_ctx = _required_positional(fn) >= 2
        out = fn(values, ctx) if takes_ctx else fn(values)
        if isinstance(out, pa.ChunkedArray):
            out = out.combine_chunks()
        if not isinstance(out, pa.Array) or len(out) != len(values):
            raise ConfigError(f"{ctx.column.qualified}: custom function {self.params.function!r} must return a "
                              f"pyarrow Array of {len(values)} values")
        return out
