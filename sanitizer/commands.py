"""What `run` and `rules check` do, between click's argument parsing and the pipeline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .audit import log as audit_log
from .config import RunConfig, load_config
from .errors import ConfigError, FindingsError, SanitizerError
from .keys import Keyring, load_key
from .pipeline import RunOptions, build_plan, new_report, run, stderr_progress
from .rules import load_rules
from .source.reader import Source
from .urls import identity, parse, same_database

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


def merged_config(args: RunArgs) -> RunConfig:
    """Options from --config, overridden by those given on the command line."""
    config = load_config(args.config) if args.config else RunConfig()
    for name in ("source", "target", "out", "jobs", "actor", "report_dir", "audit_file"):
        value = getattr(args, name)
        if value is not None:
            setattr(config, name, value)
    if args.rules:
        config.rules = list(args.rules)
    config.dry_run = config.dry_run or args.dry_run
    if config.audit_file is None:
        config.audit_file = (args.config.parent if args.config else Path.cwd()) / "sanitizer-audit.jsonl"
    return config


def run_command(args: RunArgs, echo: Echo, keyring: Keyring | None = None, key_note: str = "") -> int:
    """`sanitizer run`: returns the exit code; raises only before anything was attempted."""
    config = merged_config(args)
    if not config.source:
        raise ConfigError("run: no source; pass --source URL or set SANITIZER_SOURCE_URL")
    if bool(config.target) == bool(config.out):
        raise ConfigError("run: give exactly one of --target URL or --out DIR")
    source = parse(config.source, what="source")
    target = parse(config.target, what="target") if config.target else None
    if target is not None and same_database(source, target):
        raise ConfigError("run: --target resolves to the same database as --source; refusing to write production")
    if keyring is None:
        keyring, key_note = load_key()
    ruleset = load_rules(config.rules)
    options = RunOptions(source=source, rules=ruleset, keyring=keyring, target=target, out=config.out,
                         dry_run=config.dry_run, progress=stderr_progress())
    target_identity = identity(target) if target is not None else {"out": str(config.out)}
    report = new_report(options, target_identity)
    started = time.monotonic()
    code, error = 0, None
    try:
        run(options, report)
    except SanitizerError as exc:
        code, error = exc.exit_code, exc
    finally:
        report.duration_s = time.monotonic() - started
        report_dir = config.report_dir or (config.out if config.out and code == 0 else None)
        if report_dir is not None:
            report.write(report_dir)
        audit_log.append(config.audit_file, {
            "command": "run", "actor": config.actor or audit_log.default_actor(),
            "source": report.source, "target": report.target, "rules_digest": report.rules_digest,
            "key_fingerprint": report.key_fingerprint, "dry_run": config.dry_run,
            "tables": {t.name: t.rows_written for t in report.tables}, "verdict": report.verdict,
            "findings": len(report.findings), "duration_s": round(report.duration_s, 3), "exit_code": code,
            "error": str(error) if error else None, "tool_version": report.tool_version,
            "time": report.started_at,
        })
    if error is not None and not isinstance(error, FindingsError):
        raise error
    summarize(report, echo, key_note)
    if error is not None:
        echo(f"error: {error}", err=True)
        for finding in report.findings:
            echo(f"  {finding.kind}: {finding.column}: {finding.count}"
                 + (f" (original from {finding.source})" if finding.source else ""), err=True)
    return code


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
