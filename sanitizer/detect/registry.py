"""The one registry of detectors: registered once by name, duplicates rejected, built-ins loaded on demand."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from .base import TIERS, Detector

BUILTIN_MODULES = (
    "sanitizer.detect.generic.contact",
    "sanitizer.detect.generic.finance",
    "sanitizer.detect.generic.network",
    "sanitizer.detect.generic.person",
    "sanitizer.detect.generic.location",
    "sanitizer.detect.generic.secrets",
    "sanitizer.detect.generic.demographic",
    "sanitizer.detect.generic.text",
    "sanitizer.detect.country.us.ssn",
    "sanitizer.detect.country.national_ids",
)


class DuplicateDetector(ValueError):
    """Two detectors claimed one name: a programming error, raised at import time."""


class Registry:
    """Detectors by name. Iteration order is tier (A first) then registration order, for stable reports."""

    def __init__(self) -> None:
        self._by_name: dict[str, Detector] = {}

    def add(self, detector: Detector) -> Detector:
        name = getattr(detector, "name", None)
        if not name:
            raise ValueError(f"{type(detector).__name__}: a detector needs a name")
        if name in self._by_name:
            raise DuplicateDetector(f"detector {name!r} is registered twice "
                                    f"({type(self._by_name[name]).__name__}, {type(detector).__name__})")
        if detector.tier not in TIERS:
            raise ValueError(f"detector {name!r}: tier must be one of {TIERS} (got {detector.tier!r})")
        self._by_name[name] = detector
        return detector

    def get(self, name: str) -> Detector:
        return self._by_name[name]

    def __iter__(self) -> Iterator[Detector]:
        return iter(sorted(self._by_name.values(), key=lambda d: TIERS.index(d.tier)))

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> list[str]:
        return [d.name for d in self]


REGISTRY = Registry()


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator: instantiate the detector and add it to the registry."""
    REGISTRY.add(cls())
    return cls


def detectors() -> Registry:
    """The registry with every built-in detector loaded."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    return REGISTRY
