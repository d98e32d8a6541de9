"""Build the coverage report: every column, what the detectors say about it, which rule handles it.

Statuses, in the order a reviewer cares about them:

- uncovered PII: personal data detected and the column is copied as is (rule `keep`, the default `keep`,
  or no rule). A column of a failing tier (`--fail-on`, default A and B) is uncovered even when its
  `keep` carries a comment: the gate is there so such a decision is made in the rules, not in a comment.
- covered: a masking rule, a skipped table, or a foreign key that follows a masked parent key.
- kept with justification: `keep` whose YAML line has a comment (PII below the failing tier, or none).
- kept (no PII detected): `keep` with no comment where no detector fired.

With `--schema` there are no sampled values: detection uses column names and types only (weaker both ways).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..detect import ColumnFinding, Evidence, best_entity, by_column, detectors, scan_source
from ..detect.base import TIERS
from ..detect.sample import kind_of
from ..rules import RuleSet
from ..schema.model import ColumnInfo, SchemaInfo
from .justify import rule_comments

UNCOVERED, COVERED, JUSTIFIED, KEPT = "uncovered PII", "covered", "kept with justification", "kept (no PII detected)"
STATUSES = (UNCOVERED, COVERED, JUSTIFIED, KEPT)
HINT_CONFIDENCE = 0.5  # a name alone is weaker evidence than any sampled share


@dataclass
class Row:
    table: str
    column: str
    type: str
    entity: str | None
    tier: str | None
    confidence: float | None
    evidence: str
    rule: str
    status: str
    justification: str | None = None
    failing: bool = False  # uncovered PII of a failing tier: makes the exit code 1


@dataclass
class CoverageReport:
    rows: list[Row]
    mode: str  # how PII was detected, said on top of every format
    fail_tiers: tuple[str, ...]
    rules_files: list[str] = field(default_factory=list)

    @property
    def failing(self) -> list[Row]:
        return [r for r in self.rows if r.failing]

    def totals(self) -> dict[str, int]:
        counts = {s: sum(r.status == s for r in self.rows) for s in STATUSES}
        return {"tables": len({r.table for r in self.rows}), "columns": len(self.rows),
                "pii_columns": sum(r.entity is not None for r in self.rows), **counts,
                "failing": len(self.failing)}

    def as_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "fail_on": list(self.fail_tiers), "rules": self.rules_files,
                "totals": self.totals(), "columns": [asdict(r) for r in self.rows]}


def fail_tiers(fail_on: str) -> tuple[str, ...]:
    """--fail-on B means tiers A and B; C adds the quasi-identifiers."""
    return TIERS[: TIERS.index(fail_on) + 1]


def hint_findings(schema: SchemaInfo) -> list[ColumnFinding]:
    """Detection from names and types alone (a schema snapshot holds no values)."""
    found = []
    for info in schema.tables.values():
        for col in info.columns:
            kind = kind_of(col.arrow_type)
            for d in detectors():
                threshold = d.min_share_hinted
                if kind in d.kinds and d.hinted(col):
                    ev = Evidence(d.name, True, 0.0, threshold, 0, d.checksum)
                    found.append(ColumnFinding(col.table, col.name, d.entity, d.tier, HINT_CONFIDENCE, ev))
    return found


def from_source(source, rules: RuleSet, fail_on: str = "B", sample: int = 1000) -> CoverageReport:
    findings = scan_source(source, sample=sample)
    mode = f"PII detected from up to {sample} random rows per table plus column names"
    return build(source.schema, rules, findings, mode, fail_on)


def from_schema(schema: SchemaInfo, rules: RuleSet, fail_on: str = "B") -> CoverageReport:
    mode = ("schema only: no sampled values, PII detected from column names and types alone "
            "(misses unnamed PII, may flag harmless names); run with --source for evidence")
    return build(schema, rules, hint_findings(schema), mode, fail_on)


def build(schema: SchemaInfo, rules: RuleSet, findings: list[ColumnFinding], mode: str, fail_on: str) -> CoverageReport:
    tiers = fail_tiers(fail_on)
    best = {q: best_entity(fs) for q, fs in by_column(findings).items()}
    comments = {}
    for path in rules.files:
        comments.update({(str(path), t, c): text for (t, c), text in rule_comments(Path(path)).items()})
    rows = []
    for info in schema.tables.values():
        table_rule = rules.table(info.qualified, schema.default_schema)
        for col in info.columns:
            finding = best.get(col.qualified)
            rule, handled, justification = _rule_of(schema, rules, info, col, table_rule, comments)
            rows.append(_row(col, finding, rule, handled, justification, tiers))
    return CoverageReport(rows, mode, tiers, [str(p) for p in rules.files])


def _row(col: ColumnInfo, f: ColumnFinding | None, rule: str, handled: bool, justification: str | None,
         tiers: tuple[str, ...]) -> Row:
    failing = bool(f and not handled and f.tier in tiers)
    if handled:
        status = COVERED
    elif failing or (f is not None and not justification):
        status = UNCOVERED
    else:
        status = JUSTIFIED if justification else KEPT
    return Row(col.table, col.name, col.type_name, f.entity if f else None, f.tier if f else None,
               f.confidence if f else None, _evidence(f), rule, status,
               justification, failing)


def _evidence(f: ColumnFinding | None) -> str:
    if f is None:
        return "no detector fired"
    if f.evidence.sampled == 0:
        return f"{f.evidence.detector}: name hint only, no values looked at"
    return f.evidence.describe()


def _rule_of(schema, rules, info, col, table_rule, comments) -> tuple[str, bool, str | None]:
    """(rule as shown, does it change the values, the keep's comment)."""
    if table_rule is not None and table_rule.skip:
        return "skip (table not copied)", True, None
    column_rule = table_rule.columns.get(col.name) if table_rule is not None else None
    if column_rule is not None:
        params = column_rule.strategy.params.model_dump(exclude_defaults=True)
        shown = " ".join([column_rule.name, *(f"{k}={v}" for k, v in params.items())])
        if column_rule.strategy.changes_values:
            return shown, True, None
        file, _, where = column_rule.origin.partition(": tables.")
        table_key = where.rsplit(".columns.", 1)[0]
        return shown, False, comments.get((file, table_key, col.name))
    parent = _masked_parent(schema, rules, info, col.name)
    if parent:
        return f"follows {parent} (foreign key)", True, None
    if table_rule is None and rules.unknown_columns == "fail":
        return "no rule (table not in the rules)", False, None
    if rules.unknown_columns == "nullify":
        return "nullify (defaults.unknown_columns)", True, None
    if rules.unknown_columns == "keep":
        return "keep (defaults.unknown_columns)", False, None
    return "no rule", False, None


def _masked_parent(schema: SchemaInfo, rules: RuleSet, info, column: str, depth: int = 0) -> str | None:
    """The parent key a foreign key column follows when that key is masked (chains followed)."""
    for fk in info.foreign_keys:
        if column not in fk.columns or depth > 20:
            continue
        parent_info = schema.find(fk.referred_table)
        if parent_info is None:
            continue
        parent_col = fk.referred_columns[fk.columns.index(column)]
        parent_rule = rules.table(parent_info.qualified, schema.default_schema)
        rule = parent_rule.columns.get(parent_col) if parent_rule and not parent_rule.skip else None
        if rule is not None and rule.strategy.changes_values:
            return f"{parent_info.qualified}.{parent_col}"
        if rule is None and _masked_parent(schema, rules, parent_info, parent_col, depth + 1):
            return f"{parent_info.qualified}.{parent_col}"
    return None
