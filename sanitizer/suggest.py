"""`rules suggest`: a complete rules file drafted from a scan, every rule with the reason it was chosen.

The draft must run as it is (every column of every table has a rule, `unknown_columns: fail`) and must be
reviewable line by line: each rule carries a YAML comment with the evidence behind it — the detector's
finding for a masked column, the sample size for a kept one, the parent for a foreign key. Every choice is
checked against the column with the strategy's own `check`, the same test `run` applies, so a draft never
asks for a strategy that cannot write its column (a unique column gets a unique-safe strategy).

Entity -> strategy is one table, `ENTITY_RULES`; tier C quasi-identifiers (city, postal code, job, ...)
are kept with a comment saying so, except organisations, which get fake company names.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from .detect import ColumnFinding, best_entity, sample_table, scan_column
from .detect.sample import Sample
from .errors import ConfigError
from .keys import Keyring
from .plan import build_plan
from .rules import build_strategy, load_rules
from .sanitize import sanitize_batch
from .schema.model import ColumnInfo, SchemaInfo, TableInfo
from .urls import redact
from .validate.leak import Finding, LeakCheck
from .validate.patterns import PatternCheck

Rule = str | dict[str, Any]
PLAIN_TEXT = re.compile(r"^(N?VARCHAR|N?CHAR|CHARACTER|TEXT|STRING|CLOB|N?TEXT|VARCHAR2|CITEXT)\b", re.I)
LOCKED_PASSWORD = "!locked"  # no password hash has this shape: nobody can log in with it


@dataclass
class ColumnSuggestion:
    name: str
    rule: Rule
    comment: str
    review: bool = False  # no strategy fitted, or verification still finds something: the comment says why
    column: ColumnInfo | None = None
    fallbacks: list[Rule] = field(default_factory=list)  # fitting rules to try if verification fails
    entity: str | None = None


@dataclass
class Suggestion:
    tables: dict[str, list[ColumnSuggestion]] = field(default_factory=dict)
    sample: int = 0

    @property
    def review(self) -> list[str]:
        return [f"{t}.{c.name}" for t, cols in self.tables.items() for c in cols if c.review]


def _hash_rule(col: ColumnInfo, entity: str) -> list[Rule]:
    """Tokens that fit the column: 16 hex characters, or 11+ alphanumerics (64 bits) in a short column."""
    width = col.max_length or 16
    rules: list[Rule] = [{"strategy": "hash", "length": min(16, width), "domain": entity}]
    if width < 16:
        rules.insert(0, {"strategy": "hash", "length": width, "alphabet": "alnum", "domain": entity})
    return rules


def _person(col: ColumnInfo, info: TableInfo, part: str) -> list[Rule]:
    rule: dict[str, Any] = {"strategy": "person", "field": part}
    seeds = [c for c in info.primary_key if c != col.name]
    if seeds:
        rule["seed_columns"] = seeds
    return [rule]


def _unique(rule: dict[str, Any], col: ColumnInfo) -> dict[str, Any]:
    return {**rule, "unique": True} if col.unique else rule


# entity -> candidate rules, best first; the first one whose strategy accepts the column wins.
ENTITY_RULES: dict[str, Callable[[ColumnInfo, TableInfo], list[Rule]]] = {
    "email": lambda c, t: [_unique({"strategy": "email", "domain": "email"}, c), *_hash_rule(c, "email")],
    "phone": lambda c, t: [{"strategy": "phone", "domain": "phone"}, *_hash_rule(c, "phone")],
    "credit_card": lambda c, t: [{"strategy": "digits", "domain": "credit_card"}, *_hash_rule(c, "credit_card")],
    "first_name": lambda c, t: [*_person(c, t, "first_name"), *_hash_rule(c, "first_name")],
    "last_name": lambda c, t: [*_person(c, t, "last_name"), *_hash_rule(c, "last_name")],
    "full_name": lambda c, t: [*_person(c, t, "full_name"), *_hash_rule(c, "full_name")],
    "username": lambda c, t: [_unique({"strategy": "username"}, c), *_hash_rule(c, "username")],
    "street_address": lambda c, t: [{"strategy": "address", "field": "street", "domain": "street_address"},
                                    *_hash_rule(c, "street_address")],
    "password": lambda c, t: [{"strategy": "set", "value": LOCKED_PASSWORD}, {"strategy": "password"}],
    "date_of_birth": lambda c, t: [{"strategy": "date_of_birth"}],
    "free_text": lambda c, t: [{"strategy": "scrub"}, *_hash_rule(c, "free_text")],
    "organisation": lambda c, t: [{"strategy": "company", "domain": "organisation"},
                                  *_hash_rule(c, "organisation")],
    "photo": lambda c, t: ["nullify"],
}
HASHED = ("iban", "ip_address", "mac_address", "us_ssn", "national_id")


def candidates(col: ColumnInfo, info: TableInfo, entity: str) -> list[Rule]:
    """Rules to try for a column holding `entity`; nullify last, as the rule of a column nobody needs."""
    if entity in ENTITY_RULES:
        rules = ENTITY_RULES[entity](col, info)
    elif entity in HASHED:
        rules = _hash_rule(col, entity)
    else:
        rules = []
    if col.is_text and not PLAIN_TEXT.match(col.type_name):  # inet, uuid, enums: text tokens would not load
        rules = []
    if pa.types.is_integer(col.arrow_type) and col.unique:
        rules.insert(0, {"strategy": "int_permute", "domain": entity})
    return [*rules, "nullify"]


# A kept column found holding another column's masked originals: its own entity's fake first, then scrub,
# then nothing of it (nullify) or a token (hash) -- the leak check decides, see verify().
QUASI_RULES: dict[str, Rule] = {
    "city": {"strategy": "address", "field": "city", "domain": "city"},
    "country": {"strategy": "address", "field": "country", "domain": "country"},
    "region": {"strategy": "address", "field": "state", "domain": "region"},
    "postal_code": {"strategy": "address", "field": "postcode", "domain": "postal_code"},
    "job": {"strategy": "fake", "kind": "job", "domain": "job"},
}


def leak_fallbacks(col: ColumnInfo, entity: str | None) -> list[Rule]:
    if not col.is_text or not PLAIN_TEXT.match(col.type_name):
        return []
    rules = [QUASI_RULES[entity]] if entity in QUASI_RULES else []
    rules += ["nullify", {"strategy": "fake", "kind": "catch_phrase"}]  # NOT NULL text: a realistic stand-in
    return [r for r in rules if fits(r, col)]


def fits(rule: Rule, col: ColumnInfo) -> bool:
    try:
        return build_strategy(rule, "suggest").check(col) is None
    except ConfigError:
        return False


def scan_table_columns(source, info: TableInfo, sample: int) -> dict[str, tuple[ColumnFinding | None, int]]:
    """Per column: the finding to act on (or None) and how many non-empty values were sampled."""
    batch = sample_table(source, info, sample)
    out = {}
    for col in info.columns:
        values = batch.column(col.name)
        out[col.name] = (best_entity(scan_column(col, values)), Sample(values).total)
    return out


def int_range(source, info: TableInfo, col: ColumnInfo) -> tuple[int, int]:
    """int_permute's range: the column's own min/max widened to the type's usual range (aggregate only)."""
    sa_col = source.sa_table(info).c[col.name]
    lo, hi = source.connection.execute(sa.select(sa.func.min(sa_col), sa.func.max(sa_col))).one()
    limit = 2**31 - 1 if "BIG" not in col.type_name.upper() else 2**63 - 1
    return min(0, lo or 0), max(limit, hi or 0)


MAX_CASCADE = 8  # kept columns masked because they hold others' values, before giving up with REVIEW


def suggest(source, sample: int = 1000, verify_rounds: int = 10) -> Suggestion:
    """Scan every table of an open Source, choose a rule for each column (foreign keys last), then
    verify the draft against the whole source with the leak check (`verify_rounds=0` skips it)."""
    schema: SchemaInfo = source.schema
    result = Suggestion(sample=sample)
    chosen: dict[tuple[str, str], ColumnSuggestion] = {}
    for qualified, info in schema.tables.items():
        scanned = scan_table_columns(source, info, sample)
        for col in info.columns:
            finding, sampled = scanned[col.name]
            chosen[(qualified, col.name)] = choose(source, info, col, finding, sampled)
    _follow_parents(schema, chosen)
    for qualified, info in schema.tables.items():
        result.tables[qualified] = [chosen[(qualified, c.name)] for c in info.columns]
    if verify_rounds:
        verify(source, result, verify_rounds)
    return result


def verify(source, suggestion: Suggestion, rounds: int) -> None:
    """Dry-run the draft through the real sanitize step and leak check (nothing is written), then fix what
    a rule change can fix without making things worse, and mark the rest REVIEW.

    - A masking strategy that leaves values unchanged (or collides) gives way to the column's next fitting
      candidate (e.g. phone -> hash).
    - A kept column holding originals of a masked column is masked only if that costs nothing elsewhere:
      its own quasi-identifier fake, or nullify when nullable. Masking a column makes its own originals
      sensitive; when they turn up in yet another kept column (city names in district names), the change
      is undone and the column marked REVIEW rather than cascading through the catalogue.
    """
    by_name = {f"{t}.{c.name}": c for t, cols in suggestion.tables.items() for c in cols}
    unmasked: dict[str, ColumnSuggestion] = {}  # kept columns masked here, with their kept form
    for _ in range(rounds):
        findings = dry_run(source, suggestion)
        changed = False
        for finding in findings:
            col = by_name.get(finding.column)
            if col is None:
                continue
            cascade = finding.source in unmasked and finding.source != finding.column
            if cascade and len(unmasked) >= MAX_CASCADE:
                _review(by_name[finding.source], unmasked.pop(finding.source),
                        f"masking it would expose its own values in {finding.column}")
                changed = True
                continue
            why = (f"values of {finding.source} appear here ({finding.count} distinct)" if finding.source
                   else f"{finding.kind.replace('_', ' ')} in {finding.count} rows")
            if finding.column in unmasked:  # masking it did not help: keep it, as first drafted
                _review(col, unmasked.pop(finding.column), f"{why} even when masked")
                changed = True
                continue
            was_kept = col.rule == "keep"
            fallbacks = [r for r in col.fallbacks if r != "scrub"] if was_kept else col.fallbacks
            if not fallbacks or col.review:
                _review(col, None, f"{why} with this rule")
                continue
            if was_kept:
                unmasked[finding.column] = ColumnSuggestion(col.name, col.rule, col.comment, column=col.column)
            col.rule = fallbacks[0]
            col.fallbacks = fallbacks[1:] if not was_kept else []
            col.comment = f"verified: {why} under the first choice, so masked this way; {col.comment}"
            changed = True
        if not changed:
            break
        chosen = {(t, c.name): c for t, cols in suggestion.tables.items() for c in cols}
        _follow_parents(source.schema, chosen)
        for t, cols in suggestion.tables.items():
            suggestion.tables[t] = [chosen[(t, c.name)] for c in cols]
        by_name = {f"{t}.{c.name}": c for t, cols in suggestion.tables.items() for c in cols}


def _review(col: ColumnSuggestion, restore: ColumnSuggestion | None, why: str) -> None:
    if restore is not None:
        col.rule, col.comment = restore.rule, restore.comment
    if not col.review:
        col.review, col.comment = True, f"REVIEW: the leak check fails here: {why}; {col.comment}"


def dry_run(source, suggestion: Suggestion) -> list[Finding]:
    """The findings a run of the draft would stop on: the leak check's, with a throwaway key (only
    collisions matter here), and the pattern check's over every cell the draft lets through, so a
    column the sample made look harmless (card numbers among decoys) is not kept."""
    with tempfile.TemporaryDirectory(prefix="sanitizer-suggest-") as tmp:
        path = Path(tmp) / "draft.yaml"
        path.write_text(render_yaml(suggestion), encoding="utf-8")
        ruleset = load_rules([path])
        plans = build_plan(source.schema, ruleset)
    keyring = Keyring(secrets.token_bytes(32))
    leaks = LeakCheck(keyring)
    patterns = PatternCheck(ruleset, source.schema.default_schema)
    for plan in plans:
        if not plan.skip:
            for batch in source.batches(plan.info):
                out = sanitize_batch(plan, batch, keyring, leaks, wire=source.wire)
                patterns.observe_batch(plan.info, plan.strategies, out)
    return leaks.findings() + patterns.findings()


def choose(source, info: TableInfo, col: ColumnInfo, finding: ColumnFinding | None, sampled: int) -> ColumnSuggestion:
    key = "primary key; " if col.primary_key else ""
    if finding is None:
        why = (f"no PII detected in {sampled} sampled values (no detector reached its threshold)" if sampled
               else "no PII detected: no non-empty values sampled and no name hint; review once the table fills")
        return ColumnSuggestion(col.name, "keep", key + why, column=col, fallbacks=leak_fallbacks(col, None))
    evidence = f"{finding.entity} (tier {finding.tier}): {finding.evidence.describe()}"
    if finding.tier == "C" and finding.entity != "organisation":
        return ColumnSuggestion(col.name, "keep", f"{key}quasi-identifier kept for realistic data: {evidence}; "
                                "generalize or mask it if combinations identify people", column=col,
                                fallbacks=leak_fallbacks(col, finding.entity), entity=finding.entity)
    for rule in candidates(col, info, finding.entity):
        if isinstance(rule, dict) and rule.get("strategy") == "int_permute":
            lo, hi = int_range(source, info, col)
            rule = {**rule, "min": lo, "max": hi}
        if fits(rule, col):
            unique = " (unique-safe: the column is UNIQUE)" if col.unique else ""
            rest = [r for r in candidates(col, info, finding.entity) if r != rule and fits(r, col)]
            return ColumnSuggestion(col.name, rule, f"{key}{evidence}{unique}", column=col, fallbacks=rest,
                                    entity=finding.entity)
    return ColumnSuggestion(col.name, "keep", f"REVIEW: {evidence}; no strategy fits {col.type_name}"
                            + (" NOT NULL" if not col.nullable else "") + "; mask it by hand", review=True)


def _follow_parents(schema: SchemaInfo, chosen: dict[tuple[str, str], ColumnSuggestion]) -> None:
    """A foreign key column takes its parent's rule: `keep` when the key is kept, else the same rule
    (the plan accepts an identical rule and the reference still joins), to a fixpoint for chains."""
    changed, rounds = True, 0
    while changed and rounds < 50:
        changed, rounds = False, rounds + 1
        for qualified, info in schema.tables.items():
            for fk in info.foreign_keys:
                parent = schema.find(fk.referred_table)
                if parent is None:
                    continue
                for child, parent_col in zip(fk.columns, fk.referred_columns, strict=True):
                    mine, theirs = chosen[(qualified, child)], chosen.get((parent.qualified, parent_col))
                    if theirs is None or (qualified, child) == (parent.qualified, parent_col):
                        continue
                    where = f"{parent.qualified}.{parent_col}"
                    if theirs.rule == "keep":
                        new = ColumnSuggestion(child, "keep", f"foreign key to {where}: follows its parent, "
                                               "which is kept")
                    else:
                        new = ColumnSuggestion(child, theirs.rule, f"foreign key to {where}: same rule as its "
                                               "parent, so references still join")
                    if (new.rule, new.comment) != (mine.rule, mine.comment):
                        chosen[(qualified, child)] = new
                        changed = True


_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(value: Any) -> str:
    """A YAML scalar: bare when unambiguous, else JSON-quoted (valid YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    text = str(value)
    if _BARE.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def flow(rule: Rule) -> str:
    if isinstance(rule, str):
        return scalar(rule)
    return "{" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in rule.items()) + "}"


def render_yaml(suggestion: Suggestion, source_url=None) -> str:
    """The rules file text: header, then one line per column with its reason as a comment."""
    when = datetime.now(UTC).isoformat(timespec="seconds")
    where = f" from {redact(source_url)}" if source_url is not None else ""
    lines = [
        f"# Drafted by `sanitizer rules suggest`{where} on {when},",
        f"# from up to {suggestion.sample} random rows per table. Every column has a rule and a reason:",
        "# review each one (detectors miss things; quasi-identifiers are kept) before the first run.",
        "version: 1",
        "defaults:",
        "  unknown_columns: fail",
        "",
        "tables:",
    ]
    for table, columns in suggestion.tables.items():
        lines.append(f"  {scalar(table)}:")
        if not columns:
            lines.append("    columns: {}")
            continue
        lines.append("    columns:")
        for col in columns:
            comment = " ".join(col.comment.split())
            lines.append(f"      {scalar(col.name)}: {flow(col.rule)}  # {comment}")
    return "\n".join(lines) + "\n"


def suggest_command(url: str | None, output: Path | None, sample: int = 1000, verify_draft: bool = True,
                    ) -> tuple[str, list[str]]:
    """`rules suggest`: (the rules file text, columns left for review)."""
    from .source.reader import Source
    from .urls import parse

    if not url:
        raise ConfigError("rules suggest: no source; pass --source URL or set SANITIZER_SOURCE_URL")
    parsed = parse(url, what="source")
    with Source(parsed) as source:
        draft = suggest(source, sample, verify_rounds=4 if verify_draft else 0)
    text = render_yaml(draft, parsed)
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
    return text, draft.review
