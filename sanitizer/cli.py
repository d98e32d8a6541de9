"""The command line: the only place that maps errors to exit codes and leaves the process.

Exit codes: 0 success; 1 findings (validation, uncovered columns) with staging untouched;
2 usage or configuration error; 3 runtime failure (database unreachable, load failed).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import ConfigError, NotImplementedYet, SanitizerError

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


def main() -> None:
    """Entry point: run the CLI, turn our errors into one line and an exit code."""
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(3)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 1 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SanitizerError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted; staging was left as it was", err=True)
        sys.exit(3)
    except Exception as exc:  # a bug: say so, keep data out of the message
        if debug:
            traceback.print_exc()
        click.echo(f"internal error: {type(exc).__name__}; rerun with --debug and report it", err=True)
        sys.exit(3)
    sys.exit(0)


def rules_option(required: bool = True):
    return click.option("--rules", "rules", multiple=True, type=click.Path(path_type=Path), required=required,
                        help="Rules file (YAML); repeat to merge several.")


source_option = click.option("--source", envvar="SANITIZER_SOURCE_URL", metavar="URL",
                             help="Source database URL [env SANITIZER_SOURCE_URL].")
target_option = click.option("--target", envvar="SANITIZER_TARGET_URL", metavar="URL",
                             help="Staging database URL [env SANITIZER_TARGET_URL].")


def not_yet(command: str) -> None:
    raise NotImplementedYet(f"{command}: not implemented yet")


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
@click.option("--jobs", type=click.IntRange(min=1), help="Tables processed in parallel (default: cores).")
@click.option("--actor", help="Who runs this, for the audit log (default: the OS user).")
@click.option("--dry-run", is_flag=True, help="Read, sanitize and validate; do not touch staging.")
@click.option("--report-dir", type=click.Path(path_type=Path), help="Write report.md and report.json here.")
@click.option("--audit-file", type=click.Path(path_type=Path),
              help="Local audit log (JSONL) [default: beside --config, else ./sanitizer-audit.jsonl].")
def run(source, rules, target, out, config_file, jobs, actor, dry_run, report_dir, audit_file) -> None:
    """Snapshot the source, sanitize it with the rules, validate, and load staging atomically."""
    from .commands import RunArgs, run_command

    code = run_command(RunArgs(source=source, rules=list(rules), target=target, out=out, config=config_file,
                               jobs=jobs, actor=actor, dry_run=dry_run, report_dir=report_dir,
                               audit_file=audit_file), echo=click.echo)
    sys.exit(code)


@cli.command()
@click.option("--from", "from_dir", required=True, type=click.Path(path_type=Path), help="A --out snapshot.")
@target_option
def load(from_dir: Path, target: str | None) -> None:
    """Load a sanitized Parquet snapshot (from `run --out`) into staging with the same atomic swap.

    \b
    Example:
      sanitizer load --from /backups/shop-sanitized --target postgresql://loader@staging/shop
    """
    not_yet("load")


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
    """
    not_yet("validate")


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
    not_yet("scan")


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
def rules_suggest(source, output) -> None:
    """Write a complete rules file for the source: every column of every table gets a rule.

    \b
    Example:
      sanitizer rules suggest --source postgresql://reader@prod/shop -o rules/shop.yaml
    """
    not_yet("rules suggest")


@cli.command()
@rules_option()
@source_option
@click.option("--schema", "schema_file", type=click.Path(path_type=Path), help="A `schema snapshot` file.")
@click.option("--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md", show_default=True)
@click.option("-o", "output", type=click.Path(path_type=Path), help="Write the report here.")
def coverage(rules, source, schema_file, fmt, output) -> None:
    """Coverage report for privacy reviewers: every column, its PII evidence, its rule, its status.

    \b
    Example:
      sanitizer coverage --rules rules/shop.yaml --source $PROD --format html -o coverage.html
    """
    not_yet("coverage")


@cli.group()
def schema() -> None:
    """Snapshot the source schema with non-identifying statistics, and diff against it."""


@schema.command("snapshot")
@source_option
@click.option("-o", "output", required=True, type=click.Path(path_type=Path), help="JSON file to write.")
def schema_snapshot(source, output) -> None:
    """Write the schema plus row counts, null fractions and ranges as JSON (no row values).

    \b
    Example:
      sanitizer schema snapshot --source $PROD -o schema.json
    """
    not_yet("schema snapshot")


@schema.command("diff")
@source_option
@click.option("--against", required=True, type=click.Path(path_type=Path), help="An earlier snapshot file.")
def schema_diff(source, against) -> None:
    """Show tables and columns added, removed or changed since a snapshot.

    \b
    Example:
      sanitizer schema diff --source $PROD --against schema.json
    """
    not_yet("schema diff")


@cli.command()
@click.option("--schema", "schema_file", type=click.Path(path_type=Path), help="A `schema snapshot` file.")
@source_option
@rules_option()
@click.option("--rows", multiple=True, required=True, help="N, or TABLE=N; repeat per table.")
@click.option("--out", type=click.Path(path_type=Path), help="Write Parquet files here.")
@target_option
def synth(schema_file, source, rules, rows, out, target) -> None:
    """Generate a synthetic dataset from a schema and the same rules, without production data.

    \b
    Example:
      sanitizer synth --schema schema.json --rules rules/shop.yaml --rows 10000 --out synth/
    """
    not_yet("synth")


@cli.group()
def audit() -> None:
    """Read and verify the tamper-evident audit log."""


@audit.command("show")
@target_option
def audit_show(target) -> None:
    """List audit records.

    \b
    Example:
      sanitizer audit show --target $STAGING
    """
    not_yet("audit show")


@audit.command("verify")
@target_option
def audit_verify(target) -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken record.

    \b
    Example:
      sanitizer audit verify --target $STAGING
    """
    not_yet("audit verify")


@cli.group()
def access() -> None:
    """Grant, revoke and list read-only access to staging."""


@access.command("grant")
@click.argument("role")
@target_option
@click.option("--expires", help="e.g. 7d, 12h: the role cannot log in after that.")
def access_grant(role, target, expires) -> None:
    """Create or update a login role with read-only access to staging.

    \b
    Example:
      sanitizer access grant alice --target $STAGING --expires 7d
    """
    not_yet("access grant")


@access.command("revoke")
@click.argument("role")
@target_option
def access_revoke(role, target) -> None:
    """Revoke a role's access to staging.

    \b
    Example:
      sanitizer access revoke alice --target $STAGING
    """
    not_yet("access revoke")


@access.command("list")
@target_option
def access_list(target) -> None:
    """List who has access to staging, since when and until when.

    \b
    Example:
      sanitizer access list --target $STAGING
    """
    not_yet("access list")


__all__ = ["ConfigError", "cli", "main"]
