"""The coverage report as Markdown (for a pull request), JSON (for tools) or one HTML page (for reviewers).

Every format starts with the totals and says how PII was detected. Nothing here sees a data value: rows
hold column names, entities, tiers, evidence shares and rule names only.
"""

from __future__ import annotations

import json
from typing import Literal

from .html import render_html
from .report import STATUSES, CoverageReport

Format = Literal["md", "json", "html"]
COLUMNS = ("column", "type", "entity", "tier", "evidence", "rule", "status", "justification")


def cells(report: CoverageReport) -> list[dict[str, str]]:
    """Display rows, failing first, then by status (uncovered, covered, justified, kept) and name."""
    out = []
    for r in report.rows:
        status = r.status + (" (fails the gate)" if r.failing else "")
        out.append({"column": f"{r.table}.{r.column}", "type": r.type, "entity": r.entity or "",
                    "tier": r.tier or "", "evidence": r.evidence, "rule": r.rule, "status": status,
                    "justification": r.justification or "", "_status": r.status, "_failing": r.failing})
    order = {s: i for i, s in enumerate(STATUSES)}
    return sorted(out, key=lambda c: (not c["_failing"], order[c["_status"]], c["column"]))


def verdict(report: CoverageReport) -> str:
    tiers = "/".join(report.fail_tiers)
    if report.failing:
        return f"FAIL: {len(report.failing)} PII column(s) of tier {tiers} uncovered"
    return f"PASS: every PII column of tier {tiers} is covered"


def render_md(report: CoverageReport) -> str:
    t = report.totals()
    lines = ["# PII coverage", "", f"**{verdict(report)}**", "", f"Detection: {report.mode}.", "",
             f"Rules: {', '.join(report.rules_files)}", "", "| total | count |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in t.items()]
    lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in cells(report):
        lines.append("| " + " | ".join(str(row[c]).replace("|", "\\|") for c in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def render(report: CoverageReport, fmt: Format = "md") -> str:
    if fmt == "json":
        return json.dumps({"verdict": verdict(report), **report.as_dict()}, indent=2, ensure_ascii=False) + "\n"
    if fmt == "md":
        return render_md(report)
    if fmt == "html":
        return render_html(report, cells(report), COLUMNS, verdict(report))
    raise ValueError(f"format must be md, json or html (got {fmt!r})")
