"""What `run` and `rules check` do, between click's argument parsing and the pipeline.

A run into PostgreSQL is guarded (guard.check_target_allowed, guard.check_key_reuse) before it starts and
audited twice: in the target's `sanitizer_audit.events` (inside the load transaction, or on its own after
a failure) and in the local JSONL file, whose record carries the target record's hash.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import URL

from . import sameness
from .audit import access, guard
from .audit import db as audit_db
from .audit import log as audit_log
from .config import RunConfig, load_config
from .errors import ConfigError, FindingsError, LoadError, SanitizerError, SourceError
from .keys import Keyring, load_key
from .notify import announce, announced, check_url, failure_summary, run_summary
from .pipeline import RunOptions, build_plan, new_report, run
from .progress import Progress
from .rules import load_rules
from .source.reader import Source, short_reason
from .urls import identity, parse, redact, same_database
from .validate.report import RunReport

Echo = Callable[..., None]


@dataclass
class RunArgs:
    source: str | None = None
    rules: list[Path] = field(default_factory=list)
    target: str | None = None
    out: Path | None = None
    config: Path | None = None
    jobs: int | None = None
    actor: str | None = None
    dry_run: bool = False
    report_dir: Path | None = None
    audit_file: Path | None = None
    environment: str | None = None
    force: bool = False
    allow_key_reuse: bool = False
    subset: list[str] = field(default_factory=list)  # TABLE:PERCENT or TABLE:WHERE
    min_utility: float | None = None
    min_k: int | None = None
    table_readers: int | None = None
    notify: str | None = None
    log_format: str | None = None


def subset_from_options(entries: list[str]):
    """`--subset customer:5 --subset "film:rating = 'G'"` as the rules' subset: section (children followed)."""
    from .synth.subset import SubsetSpec

    start = {}
    for entry in entries:
        table, sep, value = entry.partition(":")
        if not sep or not table or not value.strip():
            raise ConfigError(f"--subset {entry!r}: write TABLE:PERCENT (customer:5) or TABLE:WHERE "
                              "(\"film:rating = 'G'\")")
        try:
            start[table] = {"percent": float(value)}
        except ValueError:
            start[table] = {"where": value.strip()}
    try:
        return SubsetSpec.model_validate({"start": start})
    except ValidationError as exc:
        raise ConfigError(f"--subset: {exc.errors()[0]['msg']}") from None


def merged_config(args: RunArgs) -> RunConfig:
    """Options from --config, overridden by those given on the command line."""
    config = load_config(args.config) if args.config else RunConfig()
    for name in ("source", "target", "out", "jobs", "actor", "report_dir", "audit_file", "environment",
                 "min_utility", "min_k", "notify", "log_format", "table_readers"):
        value = getattr(args, name)
        if value is not None:
            setattr(config, name, value)
    if args.rules:
        config.rules = list(args.rules)
    config.dry_run = config.dry_run or args.dry_run
    if config.audit_file is None:
        config.audit_file = (args.config.parent if args.config else Path.cwd()) / "sanitizer-audit.jsonl"
    return config


@dataclass
class TargetAudit:
    """The run's work inside the PostgreSQL target's load transaction (`RunOptions.before_commit`).

    Marks the environment, records the key fingerprint (and an allowed key reuse), re-grants recorded
    access to the new tables and appends the run's audit record: all commit with the swap, or none.
    """

    environment: str
    actor: str
    allow_key_reuse: bool
    known: set[tuple[str, str]]
    record: Callable[[RunReport, dict[str, Any]], dict[str, Any]]
    sealed: dict[str, Any] | None = None
    reused_with: list[str] = field(default_factory=list)
    grants: int = 0

    def __call__(self, conn: sa.Connection, report: RunReport, schema_map: dict[str, str]) -> None:
        try:
            guard.mark_environment(conn, self.environment, actor=self.actor)
            if self.allow_key_reuse:
                self.reused_with = guard.check_key_reuse(conn, self.environment, report.key_fingerprint,
                                                         allow_key_reuse=True, known=self.known, actor=self.actor)
            guard.record_key_fingerprint(conn, self.environment, report.key_fingerprint)
            self.grants = access.reapply_grants(conn, schema_map)
            self.sealed = audit_db.append_db_in(conn, self.record(report, self.extras()))
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:  # the audit DDL runs on the raw driver
            raise LoadError(f"writing the audit record and grants into the target failed: {short_reason(exc)}; "
                            "staging was left as it was") from exc

    def extras(self) -> dict[str, Any]:
        return {"grants_reapplied": self.grants, **({"key_reused_with": self.reused_with} if self.reused_with else {})}


def run_command(args: RunArgs, echo: Echo, keyring: Keyring | None = None, key_note: str = "") -> int:
    """`sanitizer run`: returns the exit code; raises only before anything was attempted. With --notify,
    every outcome is posted, a configuration error included; with --log-format json, every line is JSON."""
    try:
        config = merged_config(args)
    except SanitizerError as exc:  # a broken config file: still announced when --notify came with it
        if args.notify:
            announce(check_url(args.notify), args.log_format or "text",
                     failure_summary("run", exc, None, args.source, args.target), echo)
        raise
    return announced("run", config.notify, config.log_format or "text", echo,
                     lambda say, done: _run(config, args, say, keyring, key_note, done),
                     lambda exc: failure_summary("run", exc, config.environment, config.source, config.target))


def _run(config: RunConfig, args: RunArgs, echo: Echo, keyring: Keyring | None, key_note: str,
         done: dict[str, Any]) -> int:
    if not config.source:
        raise ConfigError("run: no source; pass --source URL or set SANITIZER_SOURCE_URL")
    if bool(config.target) == bool(config.out):
        raise ConfigError("run: give exactly one of --target URL or --out DIR")
    source = parse(config.source, what="source")
    target = parse(config.target, what="target") if config.target else None
    if target is not None and same_database(source, target):  # the cheap look first; the servers decide next
        raise ConfigError("run: --target resolves to the same database as --source; refusing to write production")
    source_server = target_server = None
    unreached: SourceError | None = None  # raised inside the audited run below, like any unreachable source
    try:
        if target is not None:
            source_server, target_server = sameness.refuse_same(source, target, "run")
        else:
            source_server = sameness.server_identity(source, role="source")
    except SourceError as exc:  # a target not told apart from the source gets nothing, not even a record
        unreached = exc
    environment = check_environment(config.environment) if target is not None else None
    if keyring is None:
        keyring, key_note = load_key()
    ruleset = load_rules(config.rules)
    actor = config.actor or audit_log.default_actor()
    pg_target = target if target is not None and target.get_backend_name() == "postgresql" else None
    forced, known = False, set()
    hook: TargetAudit | None = None
    if pg_target is not None and environment is not None and unreached is None:
        forced, known = guard_target(pg_target, environment, keyring.fingerprint, force=args.force,
                                     allow_key_reuse=args.allow_key_reuse, audit_file=config.audit_file,
                                     dry_run=config.dry_run, echo=echo)
        if forced:
            refuse_copy_of_source(source, pg_target, ruleset)
    if args.subset:
        if ruleset.subset is not None:
            raise ConfigError(f"--subset: {ruleset.subset_origin} has a subset: section already; use one of them")
        ruleset.subset, ruleset.subset_origin = subset_from_options(args.subset), "--subset"
    options = RunOptions(source=source, rules=ruleset, keyring=keyring, target=target, out=config.out,
                         dry_run=config.dry_run, progress=Progress(config.log_format or "text"),
                         jobs=config.jobs or os.cpu_count() or 1, min_utility=config.min_utility, min_k=config.min_k,
                         table_readers=config.table_readers)
    target_identity = identity(target) if target is not None else {"out": str(config.out)}
    report = new_report(options, target_identity)
    if source_server is not None:  # audit rows and manifests carry what the servers said
        report.source["server"] = source_server.as_record()
    if target_server is not None:
        report.target["server"] = target_server.as_record()

    def record(code: int, error: BaseException | None, extras: dict[str, Any]) -> dict[str, Any]:
        return {
            "command": "run", "actor": actor,
            "source": report.source, "target": report.target, "rules_digest": report.rules_digest,
            "key_fingerprint": report.key_fingerprint, "dry_run": config.dry_run,
            "tables": {t.name: t.rows_written for t in report.tables}, "verdict": report.verdict,
            "findings": len(report.findings), "duration_s": round(report.duration_s, 3), "exit_code": code,
            "error": (str(error) or type(error).__name__) if error else None, "tool_version": report.tool_version,
            "time": report.started_at or None, "environment": environment, "forced": forced, **extras,
        }

    if pg_target is not None and environment is not None and not config.dry_run and unreached is None:
        hook = TargetAudit(environment, actor, args.allow_key_reuse, known,
                           lambda rep, extras: record(0, None, extras))
        options.before_commit = hook
    started = time.monotonic()
    code, error = 0, None
    try:
        if unreached is not None:
            raise unreached
        run(options, report)
    except SanitizerError as exc:
        code, error = exc.exit_code, exc
    except BaseException as exc:  # a bug or an interrupt: still audited, then re-raised
        code, error = 3, exc
        raise
    finally:
        report.duration_s = time.monotonic() - started
        report_dir = config.report_dir or (config.out if config.out and code == 0 else None)
        if report_dir is not None:
            report.write(report_dir)
        extras = hook.extras() if hook and code == 0 else {}  # a failed run's hook work rolled back
        sealed = hook.sealed if hook and code == 0 else None
        if hook is not None and sealed is None:  # the run failed: its record could not commit with the swap
            sealed = append_failure(pg_target, record(code, error, extras), echo)
        local = audit_log.append(config.audit_file, {**record(code, error, extras),
                                                     "target_audit_hash": sealed["hash"] if sealed else None})
        done["summary"] = run_summary(report, code, error, environment, (sealed or local)["hash"])
    if error is not None and not isinstance(error, FindingsError):
        raise error
    summarize(report, echo, key_note)
    echo_target_audit(hook, report.key_fingerprint, echo)
    if error is not None:
        echo(f"error: {error}", err=True)
        for finding in report.findings:
            where = f"original from {finding.source}" if finding.source else finding.detail
            echo(f"  {finding.kind}: {finding.column}: {finding.count}" + (f" ({where})" if where else ""), err=True)
    return code


def guard_target(url: URL, environment: str, fingerprint: str, *, force: bool, allow_key_reuse: bool,
                 audit_file: Path | None, dry_run: bool, echo: Echo, command: str = "run",
                 ) -> tuple[bool, set[tuple[str, str]]]:
    """Refuse a PostgreSQL target that must not be loaded, or a key of another environment, before any
    work (ConfigError); returns whether --force was needed and the (environment, key) pairs known locally."""
    found = guard.check_target_allowed(url, environment, force=force)
    forced = bool(found["forced"])
    known = guard.fingerprints_in_file(audit_file) if audit_file else set()
    if not allow_key_reuse:
        guard.check_key_reuse(url, environment, fingerprint, known=known)
    if forced:
        what = (f"marked {found['environment']!r}" if found["environment"] else
                f"with {found['user_tables']} tables and no marker")
        echo(f"warning: --force: loading a database {what}"
             + ("" if dry_run else f"; this {command} marks it as {environment!r}"), err=True)
    return forced, known


def refuse_copy_of_source(source: URL, target: URL, ruleset) -> None:
    """--force adopts a database with tables, never one holding production's data (a restored dump,
    a promoted replica, the source under a spelling the probes could not see)."""
    column = sameness.holds_source_values(source, target, ruleset)
    if column is not None:
        raise ConfigError(f"--target {redact(target)} holds the source's original values (sampled in {column}), "
                          "so it is a copy of production; --force does not adopt it. Point --target at staging, "
                          "or drop that database first")


def echo_target_audit(hook: TargetAudit | None, key_fingerprint: str, echo: Echo) -> None:
    """After a committed load: where its record went, and a key reuse that was allowed."""
    if hook is None or hook.sealed is None:
        return
    echo(f"audit: recorded in sanitizer_audit.events (environment {hook.environment}, "
         f"hash {hook.sealed['hash'][:12]})")
    if hook.reused_with:
        echo(f"warning: key {key_fingerprint} is also used for {', '.join(hook.reused_with)} "
             "(--allow-key-reuse; audited)", err=True)


def check_environment(name: str | None) -> str:
    """--environment (default staging): a valid name, and never production."""
    env = guard.check_environment_name(name or "staging")
    if guard.is_production(env):
        raise ConfigError(f"--environment {env}: sanitizer loads staging-like copies, never production; "
                          "name the environment this target serves, e.g. staging")
    return env


def append_failure(url: URL | None, record: dict[str, Any], echo: Echo) -> dict[str, Any] | None:
    """A failed run's record in the target, on its own; a failure here is a warning, never the run's error."""
    if url is None:
        return None
    try:
        return audit_db.append_db(url, record)
    except Exception as exc:  # SanitizerError, or a raw driver error from the audit DDL: warn, never mask
        reason = str(exc) if isinstance(exc, SanitizerError) else short_reason(exc)
        echo(f"warning: the failed run's audit record could not be written to the target ({reason}); "
             "it is in the local audit file", err=True)
        return None


def summarize(report, echo: Echo, key_note: str = "") -> None:
    masked = report.columns_masked
    echo(f"tables: {len(report.tables)}, rows: {report.rows:,}, columns masked: {masked}, "
         f"validation: {report.verdict.upper()} ({len(report.findings)} findings), "
         f"{report.duration_s:.1f} s" + (" — dry run, staging not touched" if report.dry_run else ""))
    if key_note:
        echo(f"key: {key_note} (fingerprint {report.key_fingerprint})")


def check_rules(paths: list[Path], source_url: str | None) -> str:
    """`sanitizer rules check`: offline, then against the source schema when given."""
    ruleset = load_rules(paths)
    columns = sum(len(t.columns) for t in ruleset.tables.values())
    if not source_url:
        return f"ok: {len(paths)} file(s), {len(ruleset.tables)} tables, {columns} column rules (offline check)"
    with Source(parse(source_url, what="source")) as source:
        assert source.schema is not None
        plans = build_plan(source.schema, ruleset)
    return f"ok: {len(plans)} tables and {columns} column rules match the source schema"
