"""`sanitizer demo`: the whole job on an embedded SQLite 'production', no server and no key needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .commands import RunArgs, run_command
from .demo_data import build_prod_db
from .errors import ConfigError
from .keys import DEMO_KEY, Keyring

RULES = Path(__file__).resolve().parent.parent / "rules" / "demo.yaml"


def run_demo(directory: Path, echo: Callable[..., None]) -> int:
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if not RULES.is_file():
        raise ConfigError(f"{RULES}: the demo rules are missing; run the demo from a checkout of sanitizer")
    counts = build_prod_db(directory / "prod.db")
    echo(f"built {directory / 'prod.db'}: {len(counts)} tables, {sum(counts.values()):,} rows (fake 'production')")
    args = RunArgs(source=f"sqlite:///{directory / 'prod.db'}", rules=[RULES],
                   target=f"sqlite:///{directory / 'staging.db'}", report_dir=directory,
                   audit_file=directory / "audit.jsonl", actor="demo")
    code = run_command(args, echo, keyring=Keyring(DEMO_KEY),
                       key_note="the fixed demo key, not secret: set SANITIZER_KEY for real data")
    echo(f"staging: {directory / 'staging.db'}; report: {directory / 'report.md'}; audit: {directory / 'audit.jsonl'}")
    return code
