"""Detection: which columns hold personal data, with the evidence for it and never a value.

    findings = scan_source(source, sample=1000)   # random rows per table
    report = render(findings, "md")      # table | json | md, never a value
    best_entity(findings_for_one_column)          # one entity per column, for rule suggestions

Detectors live in `generic/` and `country/<cc>/`, are registered once in `registry.REGISTRY`, and are tiered:
A structurally checkable (checksums, syntax), B direct identifiers without checksum, C quasi-identifiers.
"""

from .base import TIER_MEANING, TIERS, ColumnFinding, Detector, Evidence, Tier
from .registry import REGISTRY, DuplicateDetector, Registry, detectors, register
from .render import best_entity, by_column, render
from .scan import sample_table, scan_column, scan_source, scan_table

__all__ = [
    "REGISTRY", "TIERS", "TIER_MEANING", "ColumnFinding", "Detector", "DuplicateDetector", "Evidence",
    "Registry", "Tier", "best_entity", "by_column", "detectors", "register", "render", "sample_table",
    "scan_column", "scan_source", "scan_table",
]
