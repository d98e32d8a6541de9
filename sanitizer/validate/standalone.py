"""`sanitizer validate`: check a staging database, or a `run --out` snapshot, long after the run that made it.

A run validates its own output before it loads it. This re-checks what is actually there now — after a
manual fix in staging, a restore, or for an auditor — using only the source (read-only) and the rules:

1. leak check: the source is read once to fingerprint the originals of every column a rule transforms;
   then every text cell of the output is fingerprinted and matched against them (LeakCheck's anywhere
   check). Source and output rows cannot be paired in general, so the same-row `unchanged_value` check
   of a run is not made here;
2. pattern check (patterns.PatternCheck) over every text cell of the `keep`, `scrub` and `regex` columns;
3. structure: the rows of each table equal the source's (a skipped table must be empty), UNIQUE and
   primary-key sets stay unique, foreign keys resolve — by SQL in the target, by Arrow for a snapshot.

The fingerprints are keyed with a random key made for this process: they are only compared with each
other, inside it, so this command needs no masking key and a spilled fingerprint file is useless later.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import URL

from .. import __version__, sameness
from ..errors import ConfigError, SourceError, ValidationFailed
from ..keys import Keyring
from ..load.parquet import READABLE_FORMATS
from ..pipeline import TablePlan, build_plan
from ..rules import RuleSet, load_rules
from ..schema.model import ColumnInfo, ForeignKey, SchemaInfo, TableInfo
from ..source.reader import Source, short_reason
from ..urls import identity, parse, same_database
from .leak import Finding, LeakCheck, Observation
from .patterns import PatternCheck, check_allow_columns
from .report import RunReport, TableReport

Echo = Callable[..., None]
BATCH_ROWS = 50_000


class DetachedLeakCheck(LeakCheck):
    """LeakCheck fed originals and outputs separately, for output whose rows cannot be paired with the source.

    A subclass rather than an edit of leak.py: the run's paired `observe` stays as it is, and this one
    reuses its fingerprinting so both find exactly the same leaks.
    """

    def observe_original(self, column: ColumnInfo, original: pa.Array, may_keep: bool = False) -> None:
        """One batch of a transformed column's source values: remember the fingerprints that count anywhere.
        may_keep: its strategy keeps some values as they are (scrub, regex), so rows that cannot be paired
        are not compared with its own output column (the pattern check reads that one)."""
        if not column.is_text:
            return
        if may_keep:
            self.kept_in_place.add(column.qualified)
        values = original if original.type == pa.string() else pc.cast(original, pa.string())
        self.add(Observation(column.qualified, sensitive=self._fingerprints(values)))

    def observe_output(self, column: ColumnInfo, output: pa.Array) -> None:
        """One batch of an output text column: its cells and the word runs inside them."""
        if column.is_text and output.null_count < len(output):
            values = output if output.type == pa.string() else pc.cast(output, pa.string())
            self._spill.add(column.qualified, self._output_fingerprints(values))


class Output(Protocol):
    """What the checks read from the output, whatever holds it."""

    def has(self, info: TableInfo) -> bool: ...
    def rows(self, info: TableInfo) -> int: ...
    def batches(self, info: TableInfo, columns: list[str]) -> Iterator[pa.RecordBatch]: ...
    def duplicates(self, info: TableInfo, columns: tuple[str, ...]) -> int: ...
    def orphans(self, info: TableInfo, fk: ForeignKey) -> int: ...


class DatabaseOutput:
    """A staging database, read like a source: one read-only snapshot transaction, checks in SQL."""

    def __init__(self, source: Source) -> None:
        self.source = source
        assert source.schema is not None
        self.schema: SchemaInfo = source.schema

    def _find(self, info: TableInfo) -> TableInfo | None:
        return self.schema.find(info.qualified) or self.schema.find(info.name)

    def _table(self, info: TableInfo) -> sa.Table:
        found = self._find(info)
        assert found is not None
        return self.source.sa_table(found)

    def has(self, info: TableInfo) -> bool:
        return self._find(info) is not None

    def rows(self, info: TableInfo) -> int:
        return self._scalar(sa.select(sa.func.count()).select_from(self._table(info)))

    def batches(self, info: TableInfo, columns: list[str]) -> Iterator[pa.RecordBatch]:
        found = self._find(info)
        assert found is not None
        for batch in self.source.batches(found):
            yield batch.select(columns)

    def duplicates(self, info: TableInfo, columns: tuple[str, ...]) -> int:
        table = self._table(info)
        cols = [table.c[name] for name in columns]
        groups = (sa.select(sa.func.count().label("n")).where(*[c.is_not(None) for c in cols])
                  .group_by(*cols).having(sa.func.count() > 1).subquery())
        return self._scalar(sa.select(sa.func.coalesce(sa.func.sum(groups.c.n - 1), 0)))

    def orphans(self, info: TableInfo, fk: ForeignKey) -> int:
        child = self._table(info)
        parent_info = self.schema.find(fk.referred_table) or self.schema.find(fk.referred_table.split(".")[-1])
        if parent_info is None:
            return self.rows(info)
        parent = self.source.sa_table(parent_info).alias("referred")  # an alias: the FK may be self-referencing
        pairs = list(zip(fk.columns, fk.referred_columns, strict=True))
        match = sa.exists(sa.select(sa.literal(1)).select_from(parent)
                          .where(*[parent.c[p] == child.c[c] for c, p in pairs]))
        query = (sa.select(sa.func.count()).select_from(child)
                 .where(*[child.c[c].is_not(None) for c, _ in pairs], ~match))
        return self._scalar(query)

    def _scalar(self, query: sa.Select) -> int:
        try:
            return int(self.source.connection.execute(query).scalar_one() or 0)
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f"reading the target failed: {short_reason(exc)}") from exc


class SnapshotOutput:
    """A `run --out` directory: manifest.json and tables/<name>.parquet; checks with Arrow."""

    def __init__(self, directory: Path) -> None:
        manifest_path = Path(directory) / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--from {directory}: no readable manifest.json ({type(exc).__name__}); "
                              "pass a directory written by `sanitizer run --out`") from None
        if manifest.get("format") not in READABLE_FORMATS:
            raise ConfigError(f"{manifest_path}: format is {manifest.get('format')!r}, expected one of "
                              f"{', '.join(READABLE_FORMATS)}; write it with `sanitizer run --out`")
        self.directory = Path(directory)
        self.tables: dict[str, Path] = {name: self.directory / entry["file"]
                                        for name, entry in manifest.get("tables", {}).items()}

    def _file(self, info: TableInfo) -> Path | None:
        return self.tables.get(info.qualified) or self.tables.get(info.name)

    def has(self, info: TableInfo) -> bool:
        path = self._file(info)
        return path is not None and path.is_file()

    def rows(self, info: TableInfo) -> int:
        return pq.ParquetFile(self._file(info)).metadata.num_rows

    def batches(self, info: TableInfo, columns: list[str]) -> Iterator[pa.RecordBatch]:
        yield from pq.ParquetFile(self._file(info)).iter_batches(batch_size=BATCH_ROWS, columns=columns)

    def _read(self, info: TableInfo, columns: tuple[str, ...]) -> pa.Table:
        return pq.read_table(self._file(info), columns=list(columns))

    def duplicates(self, info: TableInfo, columns: tuple[str, ...]) -> int:
        table = self._read(info, columns).drop_null()
        if not table.num_rows:
            return 0
        groups = table.group_by(list(columns)).aggregate([([], "count_all")])
        return table.num_rows - groups.num_rows

    def orphans(self, info: TableInfo, fk: ForeignKey) -> int:
        child = self._read(info, fk.columns).drop_null()
        parent_file = self.tables.get(fk.referred_table) or next(
            (p for n, p in self.tables.items() if n.split(".")[-1] == fk.referred_table.split(".")[-1]), None)
        if parent_file is None:
            return child.num_rows
        parent = pq.read_table(parent_file, columns=list(fk.referred_columns))
        parent = parent.rename_columns([f"p_{n}" for n in fk.referred_columns])
        return child.join(parent, keys=list(fk.columns), right_keys=parent.column_names,
                          join_type="left anti").num_rows


@dataclass
class ValidateOptions:
    source: URL
    rules: RuleSet
    target: URL | None = None
    from_dir: Path | None = None
    progress: Callable[[str], None] | None = None


def validate(options: ValidateOptions, report: RunReport) -> RunReport:
    """Check the output against the source and the rules; raise ValidationFailed on any finding."""
    started = time.monotonic()
    report.started_at = datetime.now(UTC).isoformat(timespec="seconds")
    say = options.progress or (lambda _msg: None)
    leaks = DetachedLeakCheck(Keyring(os.urandom(32)))
    snapshot = SnapshotOutput(options.from_dir) if options.from_dir is not None else None  # bad dir: fail first
    with Source(options.source) as source:
        assert source.schema is not None
        plans = build_plan(source.schema, options.rules)
        check_allow_columns(options.rules, source.schema)
        patterns = PatternCheck(options.rules, source.schema.default_schema)
        for plan in plans:
            report.tables.append(TableReport(plan.info.qualified, skipped=plan.skip,
                                             columns={c: s.name for c, s in plan.strategies.items()}))
            report.tables[-1].rows_read = _read_originals(plan, source, leaks)
        if snapshot is not None:
            report.findings.extend(_check_output(plans, snapshot, report, leaks, patterns, say))
        else:
            assert options.target is not None
            with Source(options.target) as target:
                report.findings.extend(_check_output(plans, DatabaseOutput(target), report, leaks, patterns, say))
    report.findings.extend(leaks.findings())
    report.findings.extend(patterns.findings())
    report.duration_s = time.monotonic() - started
    if report.findings:
        raise ValidationFailed(f"validation failed with {len(report.findings)} finding(s)", report)
    return report


def _read_originals(plan: TablePlan, source: Source, leaks: DetachedLeakCheck) -> int:
    """Fingerprint the transformed text columns' originals; return the table's row count."""
    if plan.skip:
        return source.count(plan.info)
    columns = [plan.info.column(n) for n, s in plan.strategies.items()
               if s.changes_values and plan.info.column(n).is_text]
    if not columns:
        return source.count(plan.info)
    rows = 0
    for batch in source.batches(plan.info):
        rows += batch.num_rows
        for column in columns:
            leaks.observe_original(column, batch.column(column.name),
                                   may_keep=bool(plan.strategies[column.name].may_keep_value))
    return rows


def _check_output(plans: list[TablePlan], output: Output, report: RunReport, leaks: DetachedLeakCheck,
                  patterns: PatternCheck, say: Callable[[str], None]) -> list[Finding]:
    """Stream every text cell of the output through both checks; count rows; check keys."""
    found: list[Finding] = []
    for plan, table_report in zip(plans, report.tables, strict=True):
        info = plan.info
        if not output.has(info):
            found.append(Finding("missing_table", info.qualified, table_report.rows_read,
                                 detail="table of the source absent from the output"))
            continue
        t0 = time.monotonic()
        text = [c for c in info.columns if c.is_text]
        if plan.skip or not text:
            table_report.rows_written = output.rows(info)
        else:
            for batch in output.batches(info, [c.name for c in text]):
                table_report.rows_written += batch.num_rows
                for column in text:
                    values = batch.column(column.name)
                    leaks.observe_output(column, values)
                    patterns.observe(column, values, plan.strategies[column.name])
        expected = 0 if plan.skip else table_report.rows_read
        if table_report.rows_written != expected:
            found.append(Finding("row_count", info.qualified, abs(table_report.rows_written - expected),
                                 detail="rows in a table the rules skip" if plan.skip else
                                 f"rows differ from the source ({table_report.rows_read} read, "
                                 f"{table_report.rows_written} in the output)"))
        if not plan.skip:
            found.extend(_keys(info, output))
        say(f"{info.qualified}: {table_report.rows_written:,} rows checked in {time.monotonic() - t0:.1f} s")
    return found


def _keys(info: TableInfo, output: Output) -> list[Finding]:
    found = []
    sets = {tuple(info.primary_key)} if info.primary_key else set()
    sets.update(tuple(s) for s in info.unique_sets)
    for columns in sorted(sets):
        dupes = output.duplicates(info, columns)
        if dupes:
            found.append(Finding("duplicate_in_unique", f"{info.qualified}.{'+'.join(columns)}", dupes,
                                 detail="rows whose value repeats in a UNIQUE or primary-key set"))
    for fk in info.foreign_keys:
        orphans = output.orphans(info, fk)
        if orphans:
            found.append(Finding("dangling_foreign_key", f"{info.qualified}.{'+'.join(fk.columns)}", orphans,
                                 source=f"{fk.referred_table}.{'+'.join(fk.referred_columns)}",
                                 detail="rows whose key has no row in the referred table"))
    return found


class ValidationReport(RunReport):
    """The run report's shape, titled for a standalone validation."""

    def to_markdown(self) -> str:
        return super().to_markdown().replace("# sanitizer run report", "# sanitizer validation report", 1)


def validate_command(rules: list[Path], source: str | None, target: str | None, from_dir: Path | None,
                     echo: Echo, report_dir: Path | None = None) -> int:
    """`sanitizer validate`: 0 when the output is clean, 1 with the report on stdout when it is not."""
    if not source:
        raise ConfigError("validate: no source; pass --source URL or set SANITIZER_SOURCE_URL")
    if bool(target) == bool(from_dir):
        raise ConfigError("validate: give exactly one of --target URL or --from DIR")
    source_url = parse(source, what="source")
    target_url = parse(target, what="target") if target else None
    if target_url is not None and same_database(source_url, target_url):
        raise ConfigError("validate: --target resolves to the same database as --source; "
                          "point it at the staging copy")
    if target_url is not None:
        sameness.refuse_same(source_url, target_url, "validate")
    ruleset = load_rules(rules)
    report = ValidationReport(
        source=identity(source_url), target=identity(target_url) if target_url else {"from": str(from_dir)},
        rules_files=[str(p) for p in ruleset.files], rules_digest=ruleset.digest,
        key_fingerprint="ephemeral (validate keys its fingerprints per process)", tool_version=__version__)
    options = ValidateOptions(source=source_url, rules=ruleset, target=target_url, from_dir=from_dir)
    code = 0
    try:
        validate(options, report)
    except ValidationFailed:
        code = 1
    finally:
        if report_dir is not None:
            report.write(report_dir)
    if code:
        echo(report.to_markdown())
        echo(f"error: validation failed with {len(report.findings)} finding(s)", err=True)
    else:
        echo(f"validation: PASS ({len(report.tables)} tables, {report.rows:,} source rows; no finding)")
    return code
