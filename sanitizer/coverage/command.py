"""`sanitizer coverage`: read the rules, detect PII from a source or a snapshot, render, decide the exit code."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..rules import load_rules
from .render import render
from .report import from_schema, from_source


def coverage_command(rules: list[Path], url: str | None, schema_file: Path | None, fmt: str,
                     output: Path | None, fail_on: str = "B") -> tuple[str, str, int]:
    """(report text, one-line verdict, exit code): 1 when PII of a failing tier is uncovered."""
    from ..schema.snapshot import load_schema
    from ..source.reader import Source
    from ..urls import parse

    if bool(url) == bool(schema_file):
        raise ConfigError("coverage: give exactly one of --source URL or --schema FILE (a `schema snapshot`)")
    ruleset = load_rules(rules)
    if schema_file is not None:
        report = from_schema(load_schema(schema_file), ruleset, fail_on)
    else:
        with Source(parse(url or "", what="source")) as source:
            report = from_source(source, ruleset, fail_on)
    text = render(report, fmt)  # type: ignore[arg-type]
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
    t = report.totals()
    line = (f"coverage: {t['columns']} columns, {t['pii_columns']} with PII; {t['covered']} covered, "
            f"{t['uncovered PII']} uncovered PII ({t['failing']} failing tier {'/'.join(report.fail_tiers)})")
    return text, line, 1 if report.failing else 0
