"""`sanitizer synth`: read the schema (snapshot file or live source), generate, write files or staging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..rules import load_rules
from .generate import synthesize
from .hints import SynthHints, hints_from_source
from .output import Format, write_files, write_target


@dataclass(frozen=True)
class SynthArgs:
    schema_file: Path | None
    source: str | None
    rules: list[Path]
    rows: list[str]
    out: Path | None
    fmt: Format
    target: str | None
    seed: int


def parse_rows(values: list[str]) -> dict[str, int]:
    """--rows N / --rows TABLE=N (repeatable) -> {"*": N, TABLE: N}."""
    out: dict[str, int] = {}
    for value in values:
        name, _, count = value.rpartition("=")
        key = name.strip() or "*"
        if not count.strip().isdigit():
            raise ConfigError(f"--rows {value}: expected N or TABLE=N with N a whole number >= 0")
        if key in out:
            raise ConfigError(f"--rows {value}: {'the default' if key == '*' else key} is given twice")
        out[key] = int(count)
    return out


def synth_command(args: SynthArgs, echo: Callable[[str], None]) -> int:
    if (args.schema_file is None) == (args.source is None):
        raise ConfigError("synth: give exactly one of --schema FILE (a `schema snapshot`) or --source URL")
    if (args.out is None) == (args.target is None):
        raise ConfigError("synth: give exactly one of --out DIR or --target URL")
    rules = load_rules(args.rules)
    rows = parse_rows(args.rows)
    if args.schema_file is not None:
        if args.target is not None:
            raise ConfigError("synth --target: the staging DDL comes from the live schema; use --source URL "
                              "(read-only), or --out DIR with --schema")
        try:
            from ..schema.snapshot import load_schema, read_snapshot
        except ImportError:  # the snapshot format is another module's; say so rather than guess it
            raise ConfigError("synth --schema: schema snapshots are not available in this build; use "
                              "--source URL") from None
        schema, doc = load_schema(args.schema_file), read_snapshot(args.schema_file)
        hints = SynthHints.from_dict(doc.get("synth_hints") or {})
        result = synthesize(schema, rules, rows, args.seed, stats=doc, hints=hints)
        _report(result, echo)
        echo(f"wrote {write_files(result, schema, args.out, args.fmt, args.seed)}")
        return 0
    from ..source.reader import Source
    from ..urls import parse

    with Source(parse(args.source, what="source")) as source:
        result = synthesize(source.schema, rules, rows, args.seed, hints=hints_from_source(source))
        _report(result, echo)
        if args.out is not None:
            echo(f"wrote {write_files(result, source.schema, args.out, args.fmt, args.seed)}")
        else:
            written = write_target(result, source, parse(args.target, what="target"))
            echo(f"loaded {sum(written.values())} rows into {len(written)} tables")
    return 0


def _report(result, echo: Callable[[str], None]) -> None:
    for name, table in result.tables.items():
        echo(f"{name}: {table.num_rows} rows")
    for note in result.notes:
        echo(f"note: {note}")
