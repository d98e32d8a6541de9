"""The one registry of strategies: it drives rules validation, JSON Schema, `rules list/show` and docs."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from importlib.metadata import entry_points

from .base import Strategy

_REGISTRY: dict[str, type[Strategy]] = {}
NOT_STRATEGY_MODULES = {"base", "registry"}
ENTRY_POINT_GROUP = "sanitizer.strategies"
_loaded = False


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: add a strategy; a second one of the same name is a programming error."""
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"strategy {cls.name!r} is registered twice ({existing.__module__}, {cls.__module__})")
    _REGISTRY[cls.name] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    package = importlib.import_module(__package__)
    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in NOT_STRATEGY_MODULES and not module.name.startswith("_"):
            importlib.import_module(f"{__package__}.{module.name}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        register(ep.load())


def strategies() -> dict[str, type[Strategy]]:
    """Every registered strategy by name, sorted."""
    _load()
    return dict(sorted(_REGISTRY.items()))


def get(name: str) -> type[Strategy] | None:
    """The strategy called `name`. A built-in one lives in the module of that name, so a run imports only
    the strategies its rules use (all of them and the plugins' entry points take ~0.4 s of start-up);
    any other name loads everything."""
    if name not in _REGISTRY and not _loaded and name.isidentifier() and not name.startswith("_") \
            and name not in NOT_STRATEGY_MODULES:
        module = f"{__package__}.{name}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # the strategy's own dependency is missing: say so
                raise
    if name not in _REGISTRY:
        _load()
    return _REGISTRY.get(name)


def did_you_mean(name: str) -> str:
    """A ' (did you mean 'x'?)' hint for a misspelt strategy, or ''."""
    close = difflib.get_close_matches(name, strategies(), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
