"""The command line: the only place that maps errors to exit codes and leaves the process.

Exit codes: 0 success; 1 findings (validation, uncovered columns) with staging untouched;
2 usage or configuration error; 3 runtime failure (database unreachable, load failed).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import ConfigError, SanitizerError

EPILOG_RUN = """\b
Example:
  export SANITIZER_KEY_FILE=/etc/sanitizer/staging.key
  sanitizer run --source postgresql://reader@prod/shop \\
                --target postgresql://loader@staging/shop --rules rules/shop.yaml
  sanitizer run --config staging.yaml      # every option from a YAML file
"""


class Obj:
    debug = False


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="sanitizer")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors (never secrets or data values).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Refresh staging from production with no personal data in it.

    snapshot (read-only) -> sanitize (keyed, deterministic rules) -> validate (prove no PII left)
    -> load (atomic swap). Start with `sanitizer demo`.
    """
    ctx.ensure_object(Obj).debug = debug


def _json_logs() -> bool:
    argv = sys.argv[1:]
    asked = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--log-format"), None)
    asked = asked or next((a.split("=", 1)[1] for a in argv if a.startswith("--log-format=")), None)
    return (asked or os.environ.get("SANITIZER_LOG_FORMAT", "text")) == "json"


def _say(message: str) -> None:
    """The one line of an error, as a JSON object under --log-format json."""
    if _json_logs():
        from .progress import json_line, level_of

        message = json_line("message", message, level_of(message))
    click.echo(message, err=True)


def main() -> None:
    """Entry point: run the CLI, turn our errors into one line and an exit code."""
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except SystemExit as exc:  # a command's own exit code
        if exc.code is not None and not isinstance(exc.code, int):
            raise
        _exit_now(exc.code or 0)
    except click.exceptions.Abort:
        _say("aborted")
        sys.exit(3)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 1 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SanitizerError as exc:
        if debug:
            traceback.print_exc()
        _say(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _say("interrupted; staging was left as it was")
        sys.exit(3)
    except Exception as exc:  # a bug: say so, keep data out of the message
        if debug:
            traceback.print_exc()
        _say(f"internal error: {type(exc).__name__}; rerun with --debug and report it")
        sys.exit(3)
    _exit_now(0)


def _exit_now(code: int) -> None:
    """Exit without tearing the interpreter down: after a big run, freeing every object of pyarrow, polars,
    pandas and SQLAlchemy took 0.2-0.3 s. Exit handlers still run first (temporary directories are
    removed, multiprocessing's helpers stop), and buffered output is flushed; files we wrote are closed."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: the output is lost either way
            stream.flush()
    os._exit(code)


def rules_option(required: bool = True):
    return click.option("--rules", "rules", multiple=True, type=click.Path(path_type=Path), required=required,
                        help="Rules file (YAML); repeat to merge several.")


source_option = click.option("--source", envvar="SANITIZER_SOURCE_URL", metavar="URL",
                             help="Source database URL [env SANITIZER_SOURCE_URL].")
target_option = click.option("--target", envvar="SANITIZER_TARGET_URL", metavar="URL",
                             help="Staging database URL [env SANITIZER_TARGET_URL].")


@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("sanitizer-demo"),
              show_default=True, help="Where prod.db, staging.db, reports and audit.jsonl go.")
def demo(directory: Path) -> None:
    """Build a demo 'production' SQLite database and sanitize it into staging.

    \b
    Example:
      sanitizer demo --dir /tmp/demo && sqlite3 /tmp/demo/staging.db 'select * from customers limit 3'
    """
    from .demo import run_demo

    sys.exit(run_demo(directory, echo=click.echo))


@cli.command(epilog=EPILOG_RUN)
@source_option
@rules_option(required=False)
@target_option
@click.option("--out", type=click.Path(path_type=Path), help="Write a sanitized Parquet snapshot here instead.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML file holding these options.")
@click.option("--jobs", type=click.IntRange(min=1),
              help="Readers (tables side by side, one snapshot) and worker processes (default: cores).")
@click.option("--table-readers", type=click.IntRange(min=1), metavar="N",
              help="psql COPYs reading one big PostgreSQL table at once, in block ranges of the same snapshot; "
                   "any N gives the same staging [default: jobs / 2].")
@click.option("--actor", help="Who runs this, for the audit log (default: the OS user).")
@click.option("--dry-run", is_flag=True, help="Read, sanitize and validate; do not touch staging.")
@click.option("--subset", multiple=True, metavar="TABLE:PERCENT|WHERE",
              help="Copy an FK-closed subset starting here (repeatable), e.g. customer:5; like the rules' subset:.")
@click.option("--report-dir", type=click.Path(path_type=Path), help="Write report.md and report.json here.")
@click.option("--audit-file", type=click.Path(path_type=Path),
              help="Local audit log (JSONL) [default: beside --config, else ./sanitizer-audit.jsonl].")
@click.option("--environment", metavar="NAME",
              help="The environment the target serves; checked against its marker [default: config, else staging].")
@click.option("--force", is_flag=True,
              help="Load a database marked for another environment, or one with tables but no marker (once).")
@click.option("--allow-key-reuse", is_flag=True, help="Allow a key already used for another environment (audited).")
@click.option("--min-utility", type=click.FloatRange(0, 1), metavar="SCORE",
              help="Stop (exit 1, staging untouched) when the utility score is below this, e.g. 0.8.")
@click.option("--min-k", type=click.IntRange(min=2), metavar="K",
              help="Stop (exit 1, staging untouched) when a table's kept quasi-identifiers leave a group of "
                   "fewer than K rows (k-anonymity).")
@click.option("--notify", metavar="URL", envvar="SANITIZER_NOTIFY_URL",
              help="POST a JSON summary here after every run, failed or not [env SANITIZER_NOTIFY_URL].")
@click.option("--log-format", type=click.Choice(["text", "json"]), envvar="SANITIZER_LOG_FORMAT",
              help="json: every line is one JSON object [env SANITIZER_LOG_FORMAT; default text].")
def run(source, rules, target, out, config_file, jobs, table_readers, actor, dry_run, subset, report_dir, audit_file,
        environment, force, allow_key_reuse, min_utility, min_k, notify, log_format) -> None:
    """Snapshot the source, sanitize it with the rules, validate, and load staging atomically."""
    from .pool_start import start_early

    start_early(source, jobs)  # a big source's worker processes get ready while the rest is imported
    from .commands import RunArgs, run_command

    code = run_command(RunArgs(source=source, rules=list(rules), target=target, out=out, config=config_file,
                               jobs=jobs, table_readers=table_readers, actor=actor, dry_run=dry_run,
                               report_dir=report_dir,
                               audit_file=audit_file, environment=environment, force=force,
                               allow_key_reuse=allow_key_reuse, subset=list(subset), min_utility=min_utility,
                               min_k=min_k, notify=notify, log_format=log_format), echo=click.echo)
    sys.exit(code)


@cli.command()
@click.option("--from", "from_dir", required=True, type=click.Path(path_type=Path),
              help="A snapshot directory written by `run --out DIR`.")
@target_option
@click.option("--environment", metavar="NAME",
              help="The environment the target serves; checked against its marker [default: staging].")
@click.option("--force", is_flag=True,
              help="Load a database marked for another environment, or one with tables but no marker (once).")
@click.option("--allow-key-reuse", is_flag=True,
              help="Allow a snapshot masked with a key already used for another environment (audited).")
@click.option("--actor", help="Who loads this, for the audit log (default: the OS user).")
@click.option("--audit-file", type=click.Path(path_type=Path),
              help="Local audit log (JSONL) [default: ./sanitizer-audit.jsonl].")
@click.option("--dry-run", is_flag=True, help="Check the snapshot and load it, but roll back instead of swapping.")
@click.option("--notify", metavar="URL", envvar="SANITIZER_NOTIFY_URL",
              help="POST a JSON summary here after every load, failed or not [env SANITIZER_NOTIFY_URL].")
@click.option("--log-format", type=click.Choice(["text", "json"]), envvar="SANITIZER_LOG_FORMAT",
              help="json: every line is one JSON object [env SANITIZER_LOG_FORMAT; default text].")
def load(from_dir: Path, target: str | None, environment, force, allow_key_reuse, actor, audit_file,
         dry_run, notify, log_format) -> None:
    """Load a sanitized snapshot (from `run --out`) into staging with the same atomic swap as `run`.

    Every file is checked against the manifest's SHA-256 before staging is touched; a damaged snapshot
    is exit 1 with staging left as it was. The snapshot needs no masking key and no source database.

    \b
    Example:
      sanitizer run --source $PROD --rules rules/shop.yaml --out /backups/shop-sanitized   # prod side
      sanitizer load --from /backups/shop-sanitized --target postgresql://loader@staging/shop
    """
    from .load.from_snapshot import LoadArgs, load_command

    sys.exit(load_command(LoadArgs(from_dir=from_dir, target=target, environment=environment, force=force,
                                   allow_key_reuse=allow_key_reuse, actor=actor, audit_file=audit_file,
                                   dry_run=dry_run, notify=notify, log_format=log_format), echo=click.echo))


@cli.command()
@rules_option()
@source_option
@target_option
@click.option("--from", "from_dir", type=click.Path(path_type=Path), help="A --out snapshot to check.")
def validate(rules, source, target, from_dir) -> None:
    """Prove that staging (or a snapshot) holds no original value of the source's sensitive columns.

    \b
    Example:
      sanitizer validate --rules rules/shop.yaml --source $PROD --target $STAGING
      sanitizer validate --rules rules/shop.yaml --source $PROD --from /backups/shop-sanitized

    Exit 0 when clean; 1 with the report (tables, columns, counts — never a value) on any finding.
    """
    from .validate.standalone import validate_command

    sys.exit(validate_command(list(rules), source, target, from_dir, echo=click.echo))


@cli.command()
@source_option
@click.option("--sample", default=1000, show_default=True, help="Rows sampled per table, at random.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "md"]), default="table", show_default=True)
def scan(source, sample, fmt) -> None:
    """Detect columns holding personal data (entity, tier, confidence, evidence; never values).

    \b
    Example:
      sanitizer scan --source postgresql://reader@prod/shop --format md
    """
    from .detect import render as render_findings
    from .detect import scan_source
    from .source.reader import Source
    from .urls import parse

    if not source:
        raise ConfigError("scan: no source; pass --source URL or set SANITIZER_SOURCE_URL")
    if sample < 1:
        raise ConfigError(f"scan: --sample must be at least 1 (got {sample})")
    with Source(parse(source, what="source")) as src:
        click.echo(render_findings(scan_source(src, sample=sample), fmt), nl=False)


@cli.group()
def rules() -> None:
    """Check rules files and explore the strategies they can use."""


@rules.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@source_option
def rules_check(paths, source) -> None:
    """Check rules files offline; with --source also against the database's schema.

    \b
    Example:
      sanitizer rules check rules/shop.yaml --source postgresql://reader@prod/shop
    """
    from .commands import check_rules

    click.echo(check_rules(list(paths), source))


@rules.command("list")
def rules_list() -> None:
    """List every strategy with its one-line summary.

    \b
    Example:
      sanitizer rules list
    """
    from .strategies.registry import strategies

    for name, cls in strategies().items():
        click.echo(f"{name:<14} {cls.summary()}")


@rules.command("show")
@click.argument("name")
def rules_show(name: str) -> None:
    """Show a strategy's parameters, defaults, example and guarantees.

    \b
    Example:
      sanitizer rules show fake
    """
    from .docs import strategy_text

    click.echo(strategy_text(name))


@rules.command("suggest")
@source_option
@click.option("-o", "output", type=click.Path(path_type=Path), help="Write the rules file here.")
@click.option("--sample", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Rows sampled per table, at random.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Dry-run the draft through sanitize + leak check (reads every row; writes nothing).")
def rules_suggest(source, output, sample, verify) -> None:
    """Write a complete rules file for the source: every column of every table gets a rule.

    \b
    Example:
      sanitizer rules suggest --source postgresql://reader@prod/shop -o rules/shop.yaml
    """
    from .suggest import suggest_command

    text, review = suggest_command(source, output, sample, verify)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}: every column has a rule; review the comments before the first run", err=True)
    if review:
        click.echo(f"warning: {len(review)} column(s) marked REVIEW (the leak check still finds something): "
                   + ", ".join(review), err=True)


@cli.command()
@rules_option()
@source_option
@click.option("--schema", "schema_file", type=click.Path(path_type=Path), help="A `schema snapshot` file.")
@click.option("--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md", show_default=True)
@click.option("-o", "output", type=click.Path(path_type=Path), help="Write the report here.")
@click.option("--fail-on", type=click.Choice(["A", "B", "C"]), default="B", show_default=True,
              help="Exit 1 when PII of this tier or a stronger one is uncovered (B: tiers A and B).")
def coverage(rules, source, schema_file, fmt, output, fail_on) -> None:
    """Coverage report for privacy reviewers: every column, its PII evidence, its rule, its status.

    \b
    Example:
      sanitizer coverage --rules rules/shop.yaml --source $PROD --format html -o coverage.html
      sanitizer coverage --rules rules/shop.yaml --schema schema.json --fail-on C
    """
    from .coverage.command import coverage_command

    text, line, code = coverage_command(list(rules), source, schema_file, fmt, output, fail_on)
    click.echo(line if output is not None else text, nl=output is not None)
    sys.exit(code)


@cli.command()
@source_option
@target_option
@rules_option(required=False)
@click.option("--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md", show_default=True)
@click.option("-o", "output", type=click.Path(path_type=Path), help="Write the report here.")
@click.option("--min-utility", type=click.FloatRange(0, 1), metavar="SCORE", help="Exit 1 below this score.")
@click.option("--min-k", type=click.IntRange(min=2), metavar="K",
              help="Exit 1 when a table's quasi-identifiers leave a group of fewer than K rows.")
def utility(source, target, rules, fmt, output, min_utility, min_k) -> None:
    """Score how well staging keeps production's shapes, and how many rows it singles out (k-anonymity).

    Column shapes (KS / total-variation complements), column-pair trends, children per parent; computed
    from bounded summaries of both databases, read in read-only transactions. Reports show scores, shares
    and rank curves, never a value. Exit 1 when a --min-utility or --min-k gate fails.

    \b
    Example:
      sanitizer utility --source $PROD --target $STAGING --rules rules/shop.yaml --format html -o utility.html
      sanitizer utility --source $PROD --target $STAGING --min-utility 0.8 --min-k 5
    """
    from .utility.command import utility_command

    sys.exit(utility_command(source, target, list(rules), fmt, output, min_utility, min_k, click.echo))


@cli.group()
def schema() -> None:
    """Snapshot the source schema with non-identifying statistics, and diff against it."""


@schema.command("snapshot")
@source_option
@click.option("-o", "output", required=True, type=click.Path(path_type=Path), help="JSON file to write.")
@click.option("--sample", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Rows sampled per table to find PII columns (their ranges are withheld).")
def schema_snapshot(source, output, sample) -> None:
    """Write the schema plus row counts, null fractions and ranges as JSON (no row values).

    \b
    Example:
      sanitizer schema snapshot --source $PROD -o schema.json
    """
    from .schema.snapshot import snapshot_command

    click.echo(snapshot_command(source, output, sample))


@schema.command("diff")
@source_option
@click.option("--against", required=True, type=click.Path(path_type=Path), help="An earlier snapshot file.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def schema_diff(source, against, fmt) -> None:
    """Show tables and columns added, removed or changed since a snapshot.

    \b
    Example:
      sanitizer schema diff --source $PROD --against schema.json

    Exit 1 when anything changed (drift), 0 when nothing did.
    """
    from .schema.diff import diff_command

    text, code = diff_command(source, against, fmt)
    click.echo(text, nl=False)
    sys.exit(code)


@cli.command()
@click.option("--schema", "schema_file", type=click.Path(path_type=Path), help="A `schema snapshot` file.")
@source_option
@rules_option()
@click.option("--rows", multiple=True, required=True,
              help="N (every table), or TABLE=N; repeat. With snapshot statistics other tables scale to match.")
@click.option("--out", type=click.Path(path_type=Path), help="Write one file per table plus manifest.json here.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True,
              help="File format for --out (csv holds PostgreSQL text forms, for COPY).")
@target_option
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same dataset.")
def synth(schema_file, source, rules, rows, out, fmt, target, seed) -> None:
    """Generate a synthetic dataset from a schema and the same rules, without production data.

    Every PK, UNIQUE, NOT NULL, FK and simple CHECK holds by construction; rule strategies shape values.

    \b
    Example:
      sanitizer synth --schema schema.json --rules rules/shop.yaml --rows 10000 --out synth/
      sanitizer synth --source $PROD --rules rules/shop.yaml --rows 1000 --rows orders=50000 --target $DEV
    """
    from .synth.command import SynthArgs, synth_command

    sys.exit(synth_command(SynthArgs(schema_file=schema_file, source=source, rules=list(rules), rows=list(rows),
                                     out=out, fmt=fmt, target=target, seed=seed), echo=click.echo))


config_option = click.option("--config", "config_file", type=click.Path(path_type=Path),
                             help="A `run` config file: its target, actor and audit file are used.")
format_option = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                             show_default=True)
audit_file_option = click.option(
    "--audit-file", type=click.Path(path_type=Path),
    help="Local audit log (JSONL) [default: beside --config, else ./sanitizer-audit.jsonl].")
actor_option = click.option("--actor", help="Who does this, for the audit log (default: the OS user).")


def _where(target=None, config_file=None, audit_file=None, actor=None):
    from .audit.commands import Where

    return Where(target=target, config=config_file, audit_file=audit_file, actor=actor)


def _target_given(ctx: click.Context) -> bool:
    return ctx.get_parameter_source("target") == click.core.ParameterSource.COMMANDLINE


@cli.group()
def audit() -> None:
    """Read and verify the tamper-evident audit log."""


@audit.command("show")
@target_option
@click.option("--file", "file", type=click.Path(path_type=Path), help="A local audit file instead of --target.")
@click.option("--since", help="Only records since then: a duration back (7d, 12h) or a date (2024-05-01).")
@format_option
@config_option
@click.pass_context
def audit_show(ctx, target, file, since, fmt, config_file) -> None:
    """List audit records, oldest first, from the target's audit table or a local file.

    \b
    Example:
      sanitizer audit show --target $STAGING --since 7d
      sanitizer audit show --file sanitizer-audit.jsonl --format json
    """
    from .audit.commands import audit_show as show

    show(_where(target, config_file), file, since, fmt, click.echo, target_explicit=_target_given(ctx))


@audit.command("verify")
@target_option
@click.option("--file", "file", type=click.Path(path_type=Path), help="A local audit file instead of --target.")
@config_option
@click.pass_context
def audit_verify(ctx, target, file, config_file) -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken record.

    \b
    Example:
      sanitizer audit verify --target $STAGING
      sanitizer audit verify --file sanitizer-audit.jsonl
    """
    from .audit.commands import audit_verify as verify

    verify(_where(target, config_file), file, click.echo, target_explicit=_target_given(ctx))


@cli.group()
def access() -> None:
    """Grant, revoke and list read-only access to staging."""


@access.command("grant")
@click.argument("role")
@target_option
@click.option("--expires", help="e.g. 7d, 12h: the role cannot log in after that [default: no expiry].")
@click.option("--tables", "tables", multiple=True, metavar="TABLE",
              help="Only this table (schema.table or a unique name); repeat for more [default: every table].")
@actor_option
@config_option
@audit_file_option
def access_grant(role, target, expires, tables, actor, config_file, audit_file) -> None:
    """Create or update a login role with read-only access to staging; a new role's password is printed once.

    \b
    Example:
      sanitizer access grant alice --target $STAGING --expires 7d
      sanitizer access grant bi_tool --target $STAGING --tables sales.orders --tables customers
    """
    from .audit.commands import access_grant as grant

    grant(_where(target, config_file, audit_file, actor), role, expires, list(tables), click.echo)


@access.command("revoke")
@click.argument("role")
@target_option
@actor_option
@config_option
@audit_file_option
def access_revoke(role, target, actor, config_file, audit_file) -> None:
    """Revoke a role's access to staging and drop the role.

    \b
    Example:
      sanitizer access revoke alice --target $STAGING
    """
    from .audit.commands import access_revoke as revoke

    revoke(_where(target, config_file, audit_file, actor), role, click.echo)


@access.command("list")
@target_option
@format_option
@config_option
def access_list(target, fmt, config_file) -> None:
    """List who has access to staging, since when and until when.

    \b
    Example:
      sanitizer access list --target $STAGING
    """
    from .audit.commands import access_list as list_access

    list_access(_where(target, config_file), fmt, click.echo)


@cli.command()
@target_option
@click.option("--file", "file", type=click.Path(path_type=Path), help="A local audit file instead of --target.")
@click.option("--max-age", envvar="SANITIZER_MAX_AGE", metavar="AGE",
              help="Exit 1 when the last good refresh is older than this: 26h, 2d, 90m [env SANITIZER_MAX_AGE].")
@click.option("--environment", metavar="NAME", help="Only refreshes recorded for this environment.")
@format_option
@config_option
@click.pass_context
def status(ctx, target, file, max_age, environment, fmt, config_file) -> None:
    """Is staging fresh? The last successful refresh from the audit log; exit 1 when stale or never refreshed.

    A failed attempt after it is a warning: staging still holds the last good data.

    \b
    Example:
      sanitizer status --target $STAGING --max-age 26h      # cron/monitoring: alert on exit 1
      sanitizer status --file sanitizer-audit.jsonl --format json
    """
    from .audit.status import status_command

    status_command(_where(target, config_file), file, max_age, environment, fmt, click.echo,
                   target_explicit=_target_given(ctx))


__all__ = ["ConfigError", "cli", "main"]
