"""Schema drift: what changed in the source since a snapshot, so rules are reviewed before the next run.

A new column is the dangerous case (it may hold personal data no rule covers); a removed one breaks rules
that name it; a changed type or nullability can break a strategy that fitted before. Only structure is
compared, never statistics: row counts move every day and are not drift.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from .model import ColumnInfo, SchemaInfo

Format = Literal["table", "json"]
COMPARED = ("type", "nullable", "unique", "primary_key")  # column properties whose change is drift


@dataclass
class ColumnChange:
    column: str  # table.column, qualified
    changes: dict[str, tuple[object, object]]  # property -> (in the snapshot, now)


@dataclass
class SchemaDiff:
    added_tables: list[str] = field(default_factory=list)
    removed_tables: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    changed_columns: list[ColumnChange] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return bool(self.added_tables or self.removed_tables or self.added_columns or self.removed_columns
                    or self.changed_columns)

    def as_dict(self) -> dict[str, object]:
        return {"drift": self.drift, **asdict(self)}


def _props(col: ColumnInfo) -> dict[str, object]:
    return {"type": col.type_name, "nullable": col.nullable, "unique": col.unique, "primary_key": col.primary_key}


def diff_schemas(before: SchemaInfo, now: SchemaInfo) -> SchemaDiff:
    """Tables and columns added, removed or changed from `before` (the snapshot) to `now` (the source)."""
    result = SchemaDiff()
    result.added_tables = sorted(set(now.tables) - set(before.tables))
    result.removed_tables = sorted(set(before.tables) - set(now.tables))
    for name in sorted(set(before.tables) & set(now.tables)):
        old = {c.name: c for c in before.tables[name].columns}
        new = {c.name: c for c in now.tables[name].columns}
        result.added_columns += [f"{name}.{c}" for c in new if c not in old]
        result.removed_columns += [f"{name}.{c}" for c in old if c not in new]
        for col in (c for c in new if c in old):
            a, b = _props(old[col]), _props(new[col])
            changes = {k: (a[k], b[k]) for k in COMPARED if a[k] != b[k]}
            if changes:
                result.changed_columns.append(ColumnChange(f"{name}.{col}", changes))
    return result


def render_diff(diff: SchemaDiff, fmt: Format = "table") -> str:
    """`+` added, `-` removed, `~` changed (snapshot -> now); or the same as JSON."""
    if fmt == "json":
        return json.dumps(diff.as_dict(), indent=2) + "\n"
    if fmt != "table":
        raise ValueError(f"format must be table or json (got {fmt!r})")
    if not diff.drift:
        return "no drift: the source matches the snapshot\n"
    lines = [f"+ table   {t}" for t in diff.added_tables]
    lines += [f"- table   {t}" for t in diff.removed_tables]
    lines += [f"+ column  {c}" for c in diff.added_columns]
    lines += [f"- column  {c}" for c in diff.removed_columns]
    for change in diff.changed_columns:
        what = "; ".join(f"{k} {a} -> {b}" for k, (a, b) in change.changes.items())
        lines.append(f"~ column  {change.column}: {what}")
    counts = (f"{len(diff.added_tables)} table(s) added, {len(diff.removed_tables)} removed; "
              f"{len(diff.added_columns)} column(s) added, {len(diff.removed_columns)} removed, "
              f"{len(diff.changed_columns)} changed")
    return "\n".join([*lines, f"drift: {counts}"]) + "\n"


def diff_command(url: str | None, against: Path, fmt: Format = "table") -> tuple[str, int]:
    """`schema diff`: (report, exit code) — 1 when the source drifted from the snapshot, else 0."""
    from ..errors import ConfigError
    from ..source.reader import Source
    from ..urls import parse
    from .snapshot import load_schema

    if not url:
        raise ConfigError("schema diff: no source; pass --source URL or set SANITIZER_SOURCE_URL")
    before = load_schema(against)
    with Source(parse(url, what="source")) as source:
        result = diff_schemas(before, source.schema)
    return render_diff(result, fmt), 1 if result.drift else 0
