"""Findings as `sanitizer scan --format table|json|md`, and one entity per column for rule suggestions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from .base import TIERS, ColumnFinding

Format = Literal["table", "json", "md"]
HEADERS = ("column", "entity", "tier", "confidence", "evidence")


def best_entity(findings: Iterable[ColumnFinding]) -> ColumnFinding | None:
    """The one finding to act on for a column: most confident; on a tie the stronger tier, then a
    checksummed detector (an IBAN beats a phone-shaped digit run)."""
    ranked = sorted(findings, key=lambda f: (-f.confidence, TIERS.index(f.tier), not f.evidence.checksum))
    return ranked[0] if ranked else None


def by_column(findings: Iterable[ColumnFinding]) -> dict[str, list[ColumnFinding]]:
    grouped: dict[str, list[ColumnFinding]] = {}
    for f in findings:
        grouped.setdefault(f.qualified, []).append(f)
    return grouped


def render(findings: Iterable[ColumnFinding], fmt: Format = "table", *, best_only: bool = False) -> str:
    """Per column: table.column, entity, tier, confidence, evidence; the best entity first. Never values."""
    rows: list[ColumnFinding] = []
    for column_findings in by_column(findings).values():
        ordered = sorted(column_findings, key=lambda f: (-f.confidence, TIERS.index(f.tier)))
        best = best_entity(ordered)
        rows.extend([best] if best_only and best else ordered)
    if fmt == "json":
        return json.dumps([f.as_dict() for f in rows], indent=2, ensure_ascii=False)
    cells = [(f.qualified, f.entity, f.tier, f"{f.confidence:.2f}", f.evidence.describe()) for f in rows]
    if fmt == "md":
        lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    if fmt != "table":
        raise ValueError(f"format must be one of table, json, md (got {fmt!r})")
    if not cells:
        return "no personal data detected\n"
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(HEADERS)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*HEADERS), line.format(*("-" * w for w in widths))]
    out += [line.format(*row) for row in cells]
    return "\n".join(s.rstrip() for s in out) + "\n"
