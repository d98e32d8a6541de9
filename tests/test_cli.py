"""The command-line contract: every command exists with help, exit codes mean what they say,
user mistakes get one line naming file, path or table.column — and never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = [
    ["demo"], ["run"], ["load"], ["validate"], ["scan"], ["rules", "check"], ["rules", "list"],
    ["rules", "show"], ["rules", "suggest"], ["coverage"], ["schema", "snapshot"], ["schema", "diff"],
    ["synth"], ["audit", "show"], ["audit", "verify"], ["access", "grant"], ["access", "revoke"],
    ["access", "list"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(cli, command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout
    assert "Usage: python -m sanitizer" in result.stdout or "Usage: sanitizer" in result.stdout


def test_rules_list_names_the_strategies(cli) -> None:
    result = cli("rules", "list")
    assert result.returncode == 0
    names = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert {"keep", "nullify", "set", "hash", "fake", "mask"} <= names


def test_rules_show_prints_parameters_and_example(cli) -> None:
    result = cli("rules", "show", "mask")
    assert result.returncode == 0
    for text in ("keep_first", "keep_last", "char", "default 0", "Rule example"):
        assert text in result.stdout
    unknown = cli("rules", "show", "mask2")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "error: rules show: unknown strategy 'mask2' (did you mean 'mask'?); see `sanitizer rules list`")


def test_rules_check_offline_reports_counts(cli) -> None:
    repo = Path(__file__).resolve().parents[1]
    result = cli("rules", "check", str(repo / "rules" / "demo.yaml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 1 file(s), 5 tables")


def test_bad_rules_file_is_one_line_exit_2_no_traceback(cli, tmp_path: Path) -> None:
    bad = tmp_path / "shop.yaml"
    bad.write_text("tables:\n  public.customers:\n    columns:\n      email: {strategy: fak, kind: email}\n")
    result = cli("rules", "check", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}: tables.public.customers.columns.email: unknown strategy 'fak' (did you mean 'fake'?); "
        "see `sanitizer rules list`"]
    assert "Traceback" not in result.stderr
    debug = cli("--debug", "rules", "check", str(bad))
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_no_command_is_a_stub_any_more(cli, tmp_path: Path) -> None:
    package = Path(__file__).resolve().parents[1] / "sanitizer"
    stubs = [p.name for p in package.rglob("*.py") if "NotImplementedYet(" in p.read_text() and p.name != "errors.py"]
    assert stubs == []
    result = cli("load", "--from", "x", "--target", f"sqlite:///{tmp_path / 'y.db'}")  # the last stub was load
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --from x: no such directory; pass a directory written by `sanitizer run --out DIR`"]


def test_run_refuses_to_start_without_a_key(cli, tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    result = cli("run", "--source", f"sqlite:///{tmp_path / 'p.db'}", "--target", f"sqlite:///{tmp_path / 's.db'}",
                 "--rules", str(repo / "rules" / "demo.yaml"), key=None)
    assert result.returncode == 2
    assert "no masking key: set SANITIZER_KEY or SANITIZER_KEY_FILE" in result.stderr


def test_key_file_is_read_and_a_missing_one_is_named(cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.key"
    result = cli("run", "--source", "sqlite:///x.db", "--out", "o", "--rules", "r.yaml", key=None,
                 env={"SANITIZER_KEY_FILE": str(missing)})
    assert result.returncode == 2
    assert f"SANITIZER_KEY_FILE={missing}: cannot read the key file" in result.stderr


def test_run_needs_exactly_one_destination(cli) -> None:
    result = cli("run", "--source", "sqlite:///x.db", "--rules", "r.yaml")
    assert result.returncode == 2
    assert "give exactly one of --target URL or --out DIR" in result.stderr


def test_run_refuses_to_write_into_the_source(cli, tmp_path: Path) -> None:
    db = tmp_path / "prod.db"
    result = cli("run", "--source", f"sqlite:///{db}", "--target", f"sqlite:///{tmp_path}/../{tmp_path.name}/prod.db",
                 "--rules", "r.yaml")
    assert result.returncode == 2
    assert "same database as --source" in result.stderr


def test_unreachable_source_is_exit_3_without_the_password(cli, tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    result = cli("run", "--source", "postgresql://alice:s3cr3t-pw@127.0.0.1:1/prod", "--out", str(tmp_path / "o"),
                 "--rules", str(repo / "rules" / "demo.yaml"))
    assert result.returncode == 3
    assert "cannot connect to source postgresql+psycopg://alice:***@127.0.0.1:1/prod" in result.stderr
    assert "s3cr3t-pw" not in result.stderr + result.stdout


def test_config_file_holds_every_option_and_reads_the_environment(cli, tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    config = tmp_path / "staging.yaml"
    config.write_text("source: ${PROD_URL}\ntarget: sqlite:///staging.db\nrules: [" + str(repo / "rules" / "demo.yaml")
                      + "]\nactor: nightly\n")
    missing = cli("run", "--config", str(config))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: {config}: source: environment variable PROD_URL is not set; " \
                                     "export it or edit the file"
    typo = tmp_path / "typo.yaml"
    typo.write_text("sorce: x\n")
    result = cli("run", "--config", str(typo))
    assert result.returncode == 2 and f"{typo}: sorce: unknown option" in result.stderr


@pytest.mark.parametrize(("files", "expected"), [
    ({"a.yaml": "tables:\n  t:\n    columns: {x: {strategy: mask, keep_last: -1}}\n"},
     "{a}: tables.t.columns.x.keep_last: Input should be greater than or equal to 0 (got -1)"),
    ({"a.yaml": "tables:\n  t:\n    columns: {x: keep\n"}, "{a}:4:1: YAML syntax error: expected ',' or '}}'"),
    ({"a.yaml": "tables:\n  t:\n    columns: {x: keep}\n", "b.yaml": "tables:\n  t:\n    columns: {x: hash}\n"},
     "{b}: tables.t.columns.x: already defined in {a}; define each column once"),
], ids=["bad parameter", "yaml syntax", "duplicate"])
def test_every_bad_rules_file_is_one_line_and_exit_2(cli, tmp_path: Path, files: dict[str, str], expected: str) -> None:
    paths = {}
    for name, text in files.items():
        paths[name[0]] = tmp_path / name
        paths[name[0]].write_text(text)
    result = cli("rules", "check", *map(str, paths.values()))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + expected.format(**paths)), lines


def test_exiting_early_still_runs_exit_handlers_and_flushes_output(tmp_path: Path) -> None:
    """cli._exit_now skips the interpreter's teardown only: temporary directories are removed and buffered
    output is written, and the exit code is the one given."""
    script = ("import sys, tempfile\n"
              "from sanitizer.cli import _exit_now\n"
              f"kept = tempfile.TemporaryDirectory(dir={str(tmp_path)!r})\n"
              "print('written before exit', end='')\n"
              "sys.stderr.write('and this')\n"
              "_exit_now(5)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 5
    assert done.stdout == "written before exit" and done.stderr == "and this"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("shape", ["lists", "mappings", "config file"])
def test_absurdly_nested_yaml_is_one_line_exit_2(cli, tmp_path: Path, shape: str) -> None:
    """2000 levels overflow PyYAML's recursive composer: a user error like any other, not exit 3."""
    path = tmp_path / "deep.yaml"
    if shape == "lists":
        path.write_text("version: 1\ntables:\n  t:\n    columns:\n      c: " + "[" * 2000 + "]" * 2000 + "\n")
    elif shape == "mappings":
        nested = "".join("  " * (i + 1) + f"k{i}:\n" for i in range(2000))
        path.write_text("tables:\n" + nested + "  " * 2001 + "x: 1\n")
    else:
        path.write_text("source: " + "[" * 2000 + "]" * 2000 + "\n")
    args = ("run", "--config", str(path)) if shape == "config file" else ("rules", "check", str(path))
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: ") and "nested" in line and "Traceback" not in result.stderr
