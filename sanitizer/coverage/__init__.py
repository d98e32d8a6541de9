"""Coverage for privacy reviewers: every column, its PII evidence, the rule handling it, and a status.

    report = coverage.from_source(source, ruleset, fail_on="B")   # or from_schema(load_schema(path), ...)
    text = coverage.render(report, "md" | "json" | "html")
    report.failing                                                # uncovered PII of a failing tier -> exit 1
"""

from .render import render
from .report import (
    COVERED,
    JUSTIFIED,
    KEPT,
    STATUSES,
    UNCOVERED,
    CoverageReport,
    Row,
    fail_tiers,
    from_schema,
    from_source,
)

__all__ = ["COVERED", "JUSTIFIED", "KEPT", "STATUSES", "UNCOVERED", "CoverageReport", "Row", "fail_tiers",
           "from_schema", "from_source", "render"]
