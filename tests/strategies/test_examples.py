"""The worked examples in rules/examples load, and every example line in the registry parses."""

from pathlib import Path

import pytest

from sanitizer.rules import load_rules

EXAMPLES = sorted((Path(__file__).parents[2] / "rules" / "examples").glob("*.yaml"))


def test_the_four_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"people.yaml", "payments.yaml", "support_tickets.yaml", "json_profiles.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_rules_file_loads(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[2])  # lookup files are relative to the project
    rules = load_rules([path])
    assert rules.tables
