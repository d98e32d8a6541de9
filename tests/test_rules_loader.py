"""The rules loader: every bad input gets one line naming file and path, and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanitizer.errors import ConfigError
from sanitizer.rules import load_rules, rules_json_schema

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
version: 1
tables:
  public.customers:
    columns:
      id: keep
      email: {strategy: fake, kind: email, unique: true}
      phone: {strategy: mask, keep_last: 4}
      ssn: hash
      notes: nullify
  public.audit_trail: skip
"""


def test_good_file_parses_into_strategies(tmp_path: Path) -> None:
    rules = load_rules([write(tmp_path, "shop.yaml", GOOD)])
    customers = rules.tables["public.customers"]
    assert {c: r.name for c, r in customers.columns.items()} == {
        "id": "keep", "email": "fake", "phone": "mask", "ssn": "hash", "notes": "nullify"}
    assert customers.columns["phone"].strategy.params.keep_last == 4
    assert rules.tables["public.audit_trail"].skip
    assert rules.unknown_columns == "fail"
    assert len(rules.digest) == 64


@pytest.mark.parametrize(("text", "expected"), [
    ("tables:\n  t:\n    columns:\n      email: {strategy: fak, kind: email}\n",
     "tables.t.columns.email: unknown strategy 'fak' (did you mean 'fake'?)"),
    ("tables:\n  t:\n    columns:\n      phone: {strategy: mask, keep_last: -1}\n",
     "tables.t.columns.phone.keep_last: Input should be greater than or equal to 0 (got -1)"),
    ("tables:\n  t:\n    columns:\n      phone: {strategy: mask, keep_lst: 2}\n",
     "tables.t.columns.phone.keep_lst: unknown parameter"),
    ("tables:\n  t:\n    columns:\n      n: {strategy: fake, kind: nmae}\n",
     "tables.t.columns.n.kind: unknown Faker kind 'nmae' (did you mean 'name'?)"),
    ("tables:\n  t:\n    columns:\n      n: {strategy: fake}\n", "tables.t.columns.n.kind: Field required"),
    ("tables:\n  t:\n    columns:\n      n:\n", "tables.t.columns.n: empty rule"),
    ("tables:\n  t: drop\n", "tables.t: a table is `skip` or a mapping with `columns:`"),
    ("version: 2\n", "version: Input should be 1"),
    ("defaults: {unknown_columns: ignore}\n", "defaults.unknown_columns: Input should be 'fail', 'keep' or 'nullify'"),
    ("tables:\n  t:\n    colums: {}\n", "tables.t.colums: unknown key"),
])
def test_bad_rules_name_file_and_path(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_rules([path])
    assert str(err.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(err.value)


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "tables:\n  t:\n    columns: {a: keep\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:\d+:\d+: YAML syntax error"):
        load_rules([path])


def test_files_merge_and_duplicates_name_both_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "tables:\n  t:\n    columns: {x: keep}\n")
    b = write(tmp_path, "b.yaml", "tables:\n  t:\n    columns: {y: hash}\n  u: skip\n")
    merged = load_rules([a, b])
    assert set(merged.tables["t"].columns) == {"x", "y"}
    c = write(tmp_path, "c.yaml", "tables:\n  t:\n    columns: {x: nullify}\n")
    with pytest.raises(ConfigError) as err:
        load_rules([a, c])
    assert str(err.value) == f"{c}: tables.t.columns.x: already defined in {a}; define each column once"
    d = write(tmp_path, "d.yaml", "tables:\n  u: skip\n")
    with pytest.raises(ConfigError, match=rf"{d}: tables.u: already defined in {b}"):
        load_rules([b, d])


def test_json_schema_in_docs_is_generated_from_the_registry() -> None:
    committed = json.loads((REPO / "docs" / "rules.schema.json").read_text())
    assert committed == rules_json_schema(), "regenerate with: python -m sanitizer.docs"


def test_every_rules_file_in_the_repo_loads() -> None:
    files = sorted((REPO / "rules").rglob("*.yaml"))
    assert files
    for path in files:
        load_rules([path])


def test_loading_rules_imports_only_the_strategies_they_name(tmp_path: Path) -> None:
    """Start-up cost: a run imports the strategy modules its rules use, not all thirty; an unknown name
    still gets the full list's suggestion."""
    import subprocess
    import sys

    rules = tmp_path / "r.yaml"
    rules.write_text("version: 1\ntables:\n  t:\n    columns: {a: keep, b: {strategy: mask, keep_last: 2}}\n")
    probe = (
        "import json, sys\n"
        "from sanitizer.rules import load_rules\n"
        f"load_rules([{str(rules)!r}])\n"
        "print(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('sanitizer.strategies.')"
        " and not m.rsplit('.', 1)[1].startswith('_'))))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert json.loads(loaded) == ["base", "keep", "mask", "registry"]
    typo = tmp_path / "typo.yaml"
    typo.write_text("version: 1\ntables:\n  t:\n    columns: {a: {strategy: maks}}\n")
    with pytest.raises(ConfigError, match="did you mean 'mask'"):
        load_rules([typo])
