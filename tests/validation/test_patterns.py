"""The pattern check (sanitizer/validate/patterns.py) and the `allow:` key of the rules format."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from sanitizer.errors import ConfigError
from sanitizer.rules import load_rules
from sanitizer.schema.model import ColumnInfo, TableInfo
from sanitizer.strategies.registry import get as strategy_class
from sanitizer.validate.patterns import KIND, PatternCheck


def luhn_complete(body: str) -> str:
    """body + the check digit that makes it Luhn-valid."""
    for check in "0123456789":
        digits = body + check
        total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d
                    for i, d in enumerate(int(c) for c in reversed(digits)))
        if total % 10 == 0:
            return digits
    raise AssertionError


CARD = luhn_complete("453914880343646")  # Visa range, not a published test number
IBAN = "DE89 3704 0044 0532 0130 00"
SSN = "536-22-1234"
EMAIL = "jane.roe@mailbox.org"
PII = [CARD, IBAN, SSN, EMAIL]
DECOYS = [
    "550e8400-e29b-41d4-a716-446655440000", "12345678-1234-4234-8234-123456789012",  # UUIDs
    "SKU-10023-B", "AB-1234-XY", "PRD-2024-000123",  # SKUs
    "1234.56", "-42.00", "$1,234,567.89", "0.99", "1 234,50",  # amounts
    "2024-03-15", "2024-03-15T10:22:01Z", "2024-03-15 10:22:01+00",  # ISO dates
    "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # hashes
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "4111111111111111", "123-45-6789",  # published test card and SSN
    "someone@example.com", "build 10.0.0.1", "192.168.1.20", "v1.2.3.4", "Rock & Roll", "", None,
]
COLUMN = ColumnInfo("public.notes", "body", "text", pa.string())


def check(values: list[str | None], strategy: str = "keep", **kw) -> PatternCheck:
    pc = PatternCheck(**kw)
    pc.observe(COLUMN, pa.array(values, pa.string()), strategy)
    return pc


def test_pii_left_in_a_kept_column_is_found_and_cells_counted() -> None:
    found = check([CARD, CARD, IBAN, SSN, EMAIL, EMAIL, EMAIL, "plain", None]).findings()
    by_entity = {f.detail.split(":")[0]: f for f in found}
    assert {e: f.count for e, f in by_entity.items()} == {"credit_card": 2, "iban": 1, "us_ssn": 1, "email": 3}
    assert all(f.kind == KIND and f.column == "public.notes.body" for f in found)
    text = json.dumps([f.as_dict() for f in found])
    assert not any(v in text for v in [*PII, CARD[-4:], "mailbox"])


def test_pii_inside_free_text_is_found() -> None:
    found = check([f"Customer wrote from {EMAIL}, card {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}.",
                   f"SSN on file: {SSN}; IBAN {IBAN.replace(' ', '')}"]).findings()
    assert {f.detail.split(":")[0] for f in found} == {"email", "credit_card", "us_ssn", "iban"}


def test_counts_add_up_across_batches() -> None:
    pc = PatternCheck()
    for _ in range(3):
        pc.observe(COLUMN, pa.array([EMAIL, "x"]), "keep")
    assert [f.count for f in pc.findings()] == [3]


def test_a_whole_batch_is_checked_column_by_column() -> None:
    info = TableInfo("public", "notes", (COLUMN, ColumnInfo("public.notes", "secret", "text", pa.string())))
    batch = pa.RecordBatch.from_pydict({"body": [EMAIL, "x"], "secret": [EMAIL, CARD]})
    pc = PatternCheck()
    pc.observe_batch(info, {"body": "keep", "secret": "hash"}, batch)
    assert [(f.column, f.count) for f in pc.findings()] == [("public.notes.body", 1)]


def test_decoys_produce_no_finding() -> None:
    assert check(DECOYS * 3).findings() == []


def test_only_keep_and_scrub_columns_and_text_are_checked() -> None:
    assert check([EMAIL], "mask").findings() == []
    pc = PatternCheck()
    pc.observe(ColumnInfo("t", "n", "int", pa.int64()), pa.array([1, 2]), "keep")
    assert pc.findings() == []


def test_scrub_fakes_of_cards_are_not_findings_but_emails_are() -> None:
    scrub = strategy_class("scrub")(strategy_class("scrub").params_model())
    found = check([CARD, EMAIL], scrub).findings()
    assert [f.detail.split(":")[0] for f in found] == ["email"]
    placeholder = strategy_class("scrub")(strategy_class("scrub").params_model(replace="placeholder"))
    assert len(check([CARD, EMAIL], placeholder).findings()) == 2


def test_national_ids_count_only_under_a_name_hint() -> None:
    pesel = "44051401359"  # a valid PESEL check digit
    assert check([pesel]).findings() == []
    pc = PatternCheck()
    pc.observe(ColumnInfo("t", "pesel", "text", pa.string()), pa.array([pesel]), "keep")
    assert [f.detail.split(":")[0] for f in pc.findings()] == ["national_id"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


ALLOWED = """
tables:
  public.notes:
    columns: {body: keep}
    allow:
      body: {entities: [email, phone], reason: "public support addresses printed on every invoice"}
"""


def test_allow_listed_column_with_reason_passes(tmp_path: Path) -> None:
    rules = load_rules([write(tmp_path, ALLOWED)])
    assert rules.allowed("public.notes", "body") == {
        "email": "public support addresses printed on every invoice",
        "phone": "public support addresses printed on every invoice"}
    bare = load_rules([write(tmp_path, ALLOWED.replace("public.notes", "notes"))])
    assert bare.allowed("public.notes", "body", "public") == rules.allowed("public.notes", "body")
    pc = check([EMAIL, CARD], rules=rules)
    assert [f.detail.split(":")[0] for f in pc.findings()] == ["credit_card"]  # only email is allowed
    assert pc.allowed_hits == {("public.notes.body", "email"): 1}


@pytest.mark.parametrize(("allow", "expected"), [
    ("{entities: [email]}", "tables.t.allow.body.reason: Field required"),
    ("{entities: [email], reason: '  '}", "tables.t.allow.body.reason: write why these values may stay"),
    ("{entities: [], reason: x}", "tables.t.allow.body.entities: List should have at least 1 item"),
    ("{entities: [emial], reason: x}", "tables.t.allow.body.entities: unknown entity 'emial'; entities are:"),
    ("{entities: [email], reason: x, until: 2025}", "tables.t.allow.body.until: unknown key"),
])
def test_bad_allow_entries_name_file_and_path(tmp_path: Path, allow: str, expected: str) -> None:
    path = write(tmp_path, f"tables:\n  t:\n    columns: {{body: keep}}\n    allow:\n      body: {allow}\n")
    with pytest.raises(ConfigError) as err:
        load_rules([path])
    assert str(err.value).startswith(f"{path}: {expected}")


def test_allow_defined_twice_names_both_files(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text(ALLOWED, encoding="utf-8")
    b.write_text("tables:\n  public.notes:\n    allow:\n      body: {entities: [iban], reason: r}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules([a, b])
    assert str(err.value) == f"{b}: tables.public.notes.allow.body: already defined in {a}; allow each column once"
