"""`sanitizer load --from DIR --target URL`: load a `run --out` snapshot into staging with run's atomic swap.

The snapshot is checked before the target is touched: the manifest (load/parquet.py, docs/snapshots.md),
every file's SHA-256, and each Parquet file's row count and columns. The rows then stream through the
same Target classes `run` uses (PostgreSQL: one transaction, advisory lock, rename-away swap; SQLite: a
temporary file renamed over), in FK-safe order, in bounded batches. A PostgreSQL target gets the source's
own DDL when the snapshot carries it, else tables rebuilt from the recorded facts (schema/rebuild.py).
Rows written must equal the manifest's before anything commits. The guard rails and the audit trail are
run's: a `load` record commits with the swap, a failed load is recorded on its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import URL

from .. import __version__, sameness
from ..audit import log as audit_log
from ..errors import ConfigError, FindingsError, SanitizerError
from ..schema.model import SchemaInfo, TableInfo
from ..schema.pgddl import SchemaDDL
from ..schema.rebuild import sa_tables
from ..schema.snapshot import schema_from_document
from ..stream import BackgroundWriter
from ..urls import default_port, identity, parse, redact
from ..validate.report import RunReport, TableReport
from .parquet import FORMAT, FORMAT_V1, MANIFEST, file_sha256
from .target import PostgresTarget, open_target

Echo = Callable[..., None]
BATCH_ROWS = 50_000
DEFAULT_AUDIT_FILE = "sanitizer-audit.jsonl"
UNTOUCHED = "staging was left as it was"


@dataclass
class LoadArgs:
    from_dir: Path
    target: str | None = None
    environment: str | None = None
    force: bool = False
    allow_key_reuse: bool = False
    actor: str | None = None
    audit_file: Path | None = None
    dry_run: bool = False
    notify: str | None = None  # webhook: a JSON summary of every outcome
    log_format: str | None = None  # json: every line one JSON object


@dataclass(frozen=True)
class SnapshotTable:
    info: TableInfo
    path: Path
    rows: int
    sha256: str


@dataclass
class Snapshot:
    """A `run --out` directory as its manifest describes it; tables in FK-safe load order."""

    directory: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    schema: SchemaInfo
    tables: list[SnapshotTable]
    sequences: dict[str, tuple[int, bool]] = field(default_factory=dict)
    serial_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    indexes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ddl: SchemaDDL | None = None
    ddl_files: dict[str, tuple[Path, str]] = field(default_factory=dict)  # pre_data/post_data: (file, sha256)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


# --- reading and checking the snapshot -----------------------------------------------------------


def read_snapshot(directory: Path) -> Snapshot:
    """The manifest, checked for format and shape; ConfigError naming the file and the fix otherwise."""
    directory = Path(directory)
    again = "write the snapshot again with `sanitizer run --out DIR`"
    if not directory.is_dir():
        raise ConfigError(f"--from {directory}: no such directory; pass a directory written by "
                          "`sanitizer run --out DIR`")
    path = directory / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no manifest here; --from takes a directory written by "
                          "`sanitizer run --out DIR`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the manifest ({getattr(exc, 'strerror', None) or type(exc).__name__})"
                          "; check the path and its permissions") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not JSON ({exc.msg}); the manifest is damaged: {again}") from None
    fmt = manifest.get("format") if isinstance(manifest, dict) else None
    if fmt == FORMAT_V1:
        raise ConfigError(f"{path}: format {FORMAT_V1} holds no schema to load staging from; {again} "
                          f"(format {FORMAT})")
    if fmt != FORMAT:
        raise ConfigError(f"{path}: format {fmt!r} is not a snapshot this sanitizer can load (expected {FORMAT!r}); "
                          f"{again}")
    try:
        return _snapshot_from(directory, manifest, file_sha256(path))
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
        reason = str(exc) if isinstance(exc, ValueError | ConfigError) else f"missing or wrong {exc}"
        raise ConfigError(f"{path}: malformed manifest ({reason}); {again}") from None


def _snapshot_from(directory: Path, manifest: dict[str, Any], digest: str) -> Snapshot:
    if not isinstance(manifest.get("key_fingerprint"), str) or not manifest["key_fingerprint"]:
        raise ValueError("no key_fingerprint: the key that masked the rows must be known to guard the target")
    schema = schema_from_document(manifest["schema"])
    _check_facts(schema)
    entries: dict[str, dict[str, Any]] = manifest["tables"]
    order: list[str] = list(manifest["load_order"])
    if set(order) != set(entries) or set(entries) != set(schema.tables) or len(order) != len(set(order)):
        raise ValueError("tables, load_order and schema.tables name different tables")
    tables = [SnapshotTable(schema.tables[name], _inside(directory, entries[name]["file"]), int(entries[name]["rows"]),
                            str(entries[name]["sha256"])) for name in order]
    sequences = {str(name): (int(value), bool(called)) for name, (value, called) in manifest["sequences"].items()}
    serial = {name: dict(entry["serial_columns"]) for name, entry in entries.items() if entry.get("serial_columns")}
    indexes = {name: [{"name": str(ix["name"]), "columns": [str(c) for c in ix["columns"]]} for ix in entry["indexes"]]
               for name, entry in entries.items() if entry.get("indexes")}
    for name, found in indexes.items():
        unknown = {c for ix in found for c in ix["columns"]} - set(schema.tables[name].column_names)
        if unknown:
            raise ValueError(f"an index of {name} names unknown column(s) {', '.join(sorted(unknown))}")
    ddl, ddl_files = None, {}
    if manifest.get("pg_ddl"):
        doc = manifest["pg_ddl"]
        ddl_files = {key: (_inside(directory, doc[key]["file"]), str(doc[key]["sha256"]))
                     for key in ("pre_data", "post_data")}
        # the SQL itself is read by verify_snapshot, once its checksum holds
        ddl = SchemaDDL(schemas=[str(s) for s in doc["schemas"]], pre_data="", post_data="",
                        populated_matviews=[str(m) for m in doc["populated_matviews"]],
                        extensions=[(str(e), str(s)) for e, s in doc["extensions"]])
    return Snapshot(directory, manifest, digest, schema, tables, sequences, serial, indexes, ddl, ddl_files)


def _check_facts(schema: SchemaInfo) -> None:
    """Every key, UNIQUE set and foreign key names columns its tables have (ValueError otherwise)."""
    for name, info in schema.tables.items():
        named = [*info.primary_key, *(c for u in info.unique_sets for c in u),
                 *(c for fk in info.foreign_keys for c in fk.columns)]
        if unknown := set(named) - set(info.column_names):
            raise ValueError(f"{name}: keys name unknown column(s) {', '.join(sorted(unknown))}")
        for fk in info.foreign_keys:
            referred = schema.find(fk.referred_table)
            if len(fk.columns) != len(fk.referred_columns) or (
                    referred is not None and set(fk.referred_columns) - set(referred.column_names)):
                raise ValueError(f"{name}: a foreign key to {fk.referred_table} names columns it does not have")


def _inside(directory: Path, relative: str) -> Path:
    """A file the manifest lists, which must lie inside the snapshot directory."""
    path = directory / str(relative)
    if not path.resolve().is_relative_to(directory.resolve()):
        raise ValueError(f"file {relative!r} lies outside the snapshot directory")
    return path


def verify_snapshot(snapshot: Snapshot) -> None:
    """Every listed file present with the manifest's SHA-256; each table file readable, with the manifest's
    rows and columns. FindingsError (exit 1) naming the first damaged file; nothing touched yet."""
    problems: list[str] = []
    for path, digest in [*((t.path, t.sha256) for t in snapshot.tables), *snapshot.ddl_files.values()]:
        if not path.is_file():
            problems.append(f"{path}: listed in the manifest but missing; the snapshot is incomplete")
        elif file_sha256(path) != digest:
            problems.append(f"{path}: checksum does not match the manifest; the snapshot was changed or damaged")
    if not problems:
        problems = [p for t in snapshot.tables if (p := _parquet_problem(t)) is not None]
    if problems:
        more = f" (and {len(problems) - 1} more file(s))" if len(problems) > 1 else ""
        raise FindingsError(f"{problems[0]}; {UNTOUCHED}{more}", problems)
    if snapshot.ddl is not None:
        snapshot.ddl.pre_data = snapshot.ddl_files["pre_data"][0].read_text(encoding="utf-8")
        snapshot.ddl.post_data = snapshot.ddl_files["post_data"][0].read_text(encoding="utf-8")


def _parquet_problem(table: SnapshotTable) -> str | None:
    """What is wrong with a table file whose checksum holds (a manifest edited to match), or None."""
    try:
        parquet = pq.ParquetFile(table.path)
    except (pa.ArrowException, OSError) as exc:
        return f"{table.path}: not a readable Parquet file ({type(exc).__name__}); the snapshot is damaged"
    found = [(f.name, f.type) for f in parquet.schema_arrow]
    expected = [(c.name, c.arrow_type) for c in table.info.columns]
    if found != expected:
        return f"{table.path}: its columns do not match the manifest's {table.info.qualified}; the snapshot is damaged"
    if parquet.metadata.num_rows != table.rows:
        return (f"{table.path}: holds {parquet.metadata.num_rows} rows, the manifest says {table.rows}; "
                "the snapshot is damaged")
    return None


def batches(table: SnapshotTable) -> Iterator[pa.RecordBatch]:
    """The table's rows in bounded batches, columns in the table's order (never the whole file at once)."""
    try:
        parquet = pq.ParquetFile(table.path)
        yield from parquet.iter_batches(batch_size=BATCH_ROWS, columns=table.info.column_names)
    except (pa.ArrowException, OSError) as exc:
        raise FindingsError(f"{table.path}: reading failed ({type(exc).__name__}); the snapshot is damaged; "
                            f"{UNTOUCHED}") from None


def refuse_source(snapshot: Snapshot, target: URL) -> None:
    """The database a snapshot was taken from is production: never load it. The manifest records what the
    source server said about itself; the target is asked the same, so no spelling of its URL slips by."""
    made_from = snapshot.manifest.get("source") or {}
    if not isinstance(made_from, dict):
        return
    recorded = made_from.get("server")
    if isinstance(recorded, dict):
        same = sameness.same_identity(recorded, sameness.server_identity(target).as_record())
    else:
        same = None
    if same is None:  # a manifest from before servers were asked: the URL text is all there is
        same = _same_by_text(made_from, target)
    if same:
        raise ConfigError(f"--target {redact(target)}: this is the database the snapshot was taken from; "
                          "refusing to write production")


def _same_by_text(made_from: dict[str, Any], target: URL) -> bool:
    into = identity(target)
    if made_from.get("dialect") != into.get("dialect"):
        return False
    if into["dialect"] == "sqlite":
        return made_from.get("database") == into["database"]
    local = {"localhost", "127.0.0.1", "::1", None, ""}
    host_a, host_b = made_from.get("host"), into.get("host")
    port = default_port(target)
    return ((host_a == host_b or (host_a in local and host_b in local))
            and (made_from.get("port") or port) == (into.get("port") or port)
            and made_from.get("database") == into.get("database"))


# --- loading -------------------------------------------------------------------------------------


def load_snapshot(snapshot: Snapshot, url: URL, report: RunReport, *, dry_run: bool,
                  before_commit: Callable[..., None] | None = None,
                  progress: Callable[[str], None] | None = None) -> None:
    """Verify, then write every table and swap staging in; raise with staging untouched on any failure."""
    say = progress or (lambda _msg: None)
    verify_snapshot(snapshot)
    target = open_target(url)
    with target:
        built = sa_tables(snapshot.schema, url.get_backend_name(), snapshot.serial_columns, snapshot.indexes)
        pairs = [(t.info, built[t.info.qualified]) for t in snapshot.tables]
        if isinstance(target, PostgresTarget):
            target.create(pairs, ddl=snapshot.ddl)  # None: tables rebuilt from the recorded facts
        else:
            target.create(pairs)
        writer = BackgroundWriter(target.write)
        try:
            for table in snapshot.tables:
                started, read = time.monotonic(), 0
                for batch in batches(table):
                    writer.put(table.info, batch)
                    read += batch.num_rows
                report.tables.append(TableReport(table.info.qualified, rows_read=read))
                say(f"{table.info.qualified}: {read:,} rows ({read / max(time.monotonic() - started, 1e-6):,.0f} "
                    "rows/s)")
        finally:
            writer.close()
        wrong = []
        for table, table_report in zip(snapshot.tables, report.tables, strict=True):
            table_report.rows_written = target.rows_written.get(table.info.qualified, 0)
            if table_report.rows_read != table.rows or table_report.rows_written != table.rows:
                wrong.append(f"{table.info.qualified}: {table_report.rows_written} rows written, the manifest "
                             f"says {table.rows}")
        if wrong:
            raise FindingsError(f"{wrong[0]}; nothing was committed, {UNTOUCHED}"
                                + (f" (and {len(wrong) - 1} more table(s))" if len(wrong) > 1 else ""), wrong)
        target.finalize(snapshot.sequences)
        if not dry_run:
            if before_commit is not None and isinstance(target, PostgresTarget):
                before_commit(target.connection, report, target.schema_map)
            target.commit()


def load_command(args: LoadArgs, echo: Echo) -> int:
    """`sanitizer load`: returns the exit code; raises only before anything was attempted, or on failure.
    --notify and --log-format json work as for `run`."""
    from ..notify import announced, failure_summary

    return announced("load", args.notify, args.log_format or "text", echo,
                     lambda say, done: _load(args, say, done),
                     lambda exc: failure_summary("load", exc, args.environment, None, args.target))


def _load(args: LoadArgs, echo: Echo, done: dict[str, Any]) -> int:
    from ..commands import TargetAudit, append_failure, check_environment, echo_target_audit, guard_target
    from ..notify import run_summary
    from ..pipeline import stderr_progress

    snapshot = read_snapshot(args.from_dir)
    if not args.target:
        raise ConfigError("load: no target; pass --target URL or set SANITIZER_TARGET_URL")
    target = parse(args.target, what="target")
    refuse_source(snapshot, target)
    environment = check_environment(args.environment)
    audit_file = args.audit_file or Path.cwd() / DEFAULT_AUDIT_FILE
    actor = args.actor or audit_log.default_actor()
    fingerprint = snapshot.manifest["key_fingerprint"]
    pg_target = target if target.get_backend_name() == "postgresql" else None
    forced = False
    hook: TargetAudit | None = None
    known: set[tuple[str, str]] = set()
    if pg_target is not None:
        forced, known = guard_target(pg_target, environment, fingerprint, force=args.force,
                                     allow_key_reuse=args.allow_key_reuse, audit_file=audit_file,
                                     dry_run=args.dry_run, echo=echo, command="load")
    report = RunReport(source=snapshot_identity(snapshot), target=identity(target), rules_files=[],
                       rules_digest=str(snapshot.manifest.get("rules_digest", "")), key_fingerprint=fingerprint,
                       tool_version=__version__, started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                       dry_run=args.dry_run)
    problems: list[str] = []

    def record(code: int, error: BaseException | None, extras: dict[str, Any]) -> dict[str, Any]:
        return {
            "command": "load", "actor": actor, "source": report.source, "target": report.target,
            "rules_digest": report.rules_digest, "key_fingerprint": report.key_fingerprint,
            "dry_run": args.dry_run, "tables": {t.name: t.rows_written for t in report.tables},
            "verdict": "fail" if error is not None else "pass", "findings": len(problems),
            "duration_s": round(report.duration_s, 3), "exit_code": code,
            "error": (str(error) or type(error).__name__) if error else None, "tool_version": __version__,
            "time": report.started_at, "environment": environment if pg_target is not None else None,
            "forced": forced, **extras,
        }

    if pg_target is not None and not args.dry_run:
        hook = TargetAudit(environment, actor, args.allow_key_reuse, known,
                           lambda _report, extras: record(0, None, extras))
    started = time.monotonic()
    code, error = 0, None
    try:
        load_snapshot(snapshot, target, report, dry_run=args.dry_run, before_commit=hook,
                      progress=stderr_progress(args.log_format or "text"))
    except SanitizerError as exc:
        code, error = exc.exit_code, exc
        if isinstance(exc, FindingsError) and isinstance(exc.report, list):
            problems = exc.report
    except BaseException as exc:  # a bug or an interrupt: still audited, then re-raised
        code, error = 3, exc
        raise
    finally:
        report.duration_s = time.monotonic() - started
        extras = hook.extras() if hook and code == 0 else {}
        sealed = hook.sealed if hook and code == 0 else None
        if hook is not None and sealed is None:  # failed: its record could not commit with the swap
            sealed = append_failure(pg_target, record(code, error, extras), echo)
        local = audit_log.append(audit_file, {**record(code, error, extras),
                                              "target_audit_hash": sealed["hash"] if sealed else None})
        done["summary"] = run_summary(report, code, error, environment if pg_target is not None else None,
                                      (sealed or local)["hash"], command="load")
    if error is not None and not isinstance(error, FindingsError):
        raise error
    if error is not None:
        echo(f"error: {error}", err=True)
        for problem in problems[1:]:
            echo(f"  also: {problem}", err=True)
        return code
    echo(f"tables: {len(snapshot.tables)}, rows: {snapshot.rows:,}, checksums verified, {report.duration_s:.1f} s"
         + (" — dry run, staging not touched" if args.dry_run else f" — staging swapped ({redact(target)})"))
    echo_target_audit(hook, fingerprint, echo)
    return code


def snapshot_identity(snapshot: Snapshot) -> dict[str, Any]:
    """Where the rows come from, for the audit record: the directory, its manifest's hash, and the
    database the snapshot was taken from (identity only: no password)."""
    return {"snapshot": str(snapshot.directory.resolve()), "manifest_sha256": snapshot.manifest_sha256,
            "created_at": snapshot.manifest.get("created_at"), "taken_from": snapshot.manifest.get("source"),
            "snapshot_tool_version": snapshot.manifest.get("tool_version")}
