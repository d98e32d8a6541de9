"""The run report (Markdown + JSON): counts, column names and strategies — never a value."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..utility import render
from .leak import Finding


@dataclass
class TableReport:
    name: str
    rows_read: int = 0
    rows_written: int = 0
    skipped: bool = False
    columns: dict[str, str] = field(default_factory=dict)  # column -> strategy name


@dataclass
class RunReport:
    source: dict[str, object]
    target: dict[str, object]
    rules_files: list[str]
    rules_digest: str
    key_fingerprint: str
    tool_version: str
    tables: list[TableReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    started_at: str = ""
    duration_s: float = 0.0
    dry_run: bool = False
    # table.column -> distinct inputs the uniqueness ledger re-mapped because their output was taken
    uniqueness_resolved: dict[str, int] = field(default_factory=dict)
    utility: dict[str, object] | None = None  # sanitizer.utility: scores, shares, rank curves; no value
    risk: dict[str, object] | None = None  # k-anonymity of the quasi-identifiers staging still links

    @property
    def verdict(self) -> str:
        return "fail" if self.findings else "pass"

    @property
    def rows(self) -> int:
        return sum(t.rows_read for t in self.tables)

    @property
    def columns_masked(self) -> int:
        return sum(1 for t in self.tables for s in t.columns.values() if s != "keep")

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict, "started_at": self.started_at, "duration_s": round(self.duration_s, 3),
            "dry_run": self.dry_run, "tool_version": self.tool_version, "source": self.source,
            "target": self.target, "rules_files": self.rules_files, "rules_digest": self.rules_digest,
            "key_fingerprint": self.key_fingerprint,
            "totals": {"tables": len(self.tables), "rows": self.rows, "columns_masked": self.columns_masked,
                       "findings": len(self.findings)},
            "tables": [t.__dict__ for t in self.tables],
            "findings": [f.as_dict() for f in self.findings],
            "uniqueness_resolved": self.uniqueness_resolved,
            "utility": self.utility, "risk": self.risk,
        }

    def to_markdown(self) -> str:
        lines = [
            "# sanitizer run report", "",
            f"- verdict: **{self.verdict.upper()}**",
            f"- started: {self.started_at}, took {self.duration_s:.2f} s" + (" (dry run)" if self.dry_run else ""),
            f"- tables: {len(self.tables)}, rows: {self.rows}, columns masked: {self.columns_masked}",
            f"- rules: {', '.join(self.rules_files)} (sha256 {self.rules_digest[:12]})",
            f"- key fingerprint: {self.key_fingerprint}", "",
            "## Findings", "",
        ]
        if not self.findings:
            lines.append("None: no original value of a transformed column was found in the output.")
        else:
            lines += ["| finding | column | count | original from | detail |", "|---|---|---|---|---|"]
            lines += [f"| {f.kind} | {f.column} | {f.count} | {f.source or ''} | {f.detail} |"
                      for f in self.findings]
        if self.uniqueness_resolved:
            lines += ["", "## Unique columns settled", "",
                      "Distinct inputs whose masked value another input already had, mapped again (keyed, "
                      "reproducible) so the column stays unique:", ""]
            lines += [f"- {column}: {count}" for column, count in sorted(self.uniqueness_resolved.items())]
        lines += render.markdown(self.utility, self.risk)
        lines += ["", "## Tables", "", "| table | rows read | rows written | masked columns |", "|---|---|---|---|"]
        for t in self.tables:
            masked = ", ".join(f"{c} ({s})" for c, s in t.columns.items() if s != "keep")
            lines.append(f"| {t.name} | {t.rows_read} | {t.rows_written} | "
                         f"{'skipped (schema only)' if t.skipped else masked or '—'} |")
        return "\n".join(lines) + "\n"

    def write(self, directory: Path) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        md, js = directory / "report.md", directory / "report.json"
        md.write_text(self.to_markdown(), encoding="utf-8")
        js.write_text(json.dumps(self.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")
        if self.utility is not None or self.risk is not None:
            (directory / "utility.html").write_text(
                render.page(self.utility, self.risk, f"sanitizer utility report — {self.started_at}"), encoding="utf-8")
        return md, js
