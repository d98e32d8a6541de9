"""Scanning real databases: Chinook, Pagila and Northwind on PostgreSQL, Chinook on SQLite, against the hand
labels in tests/labels/. Random sampling means a detector must hold on any 1,000 rows, not on the first."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from sanitizer.detect import best_entity, by_column, detectors, render, scan_source
from sanitizer.source.reader import Source

LABELS = Path(__file__).resolve().parents[1] / "labels"


def scan(url: str, sample: int = 1000) -> dict[str, str]:
    with Source(make_url(url)) as source:
        findings = scan_source(source, sample=sample)
        names = {col.qualified: f"{info.name}.{col.name}" for info in source.schema.tables.values()
                 for col in info.columns}
    best = {names[q]: best_entity(fs) for q, fs in by_column(findings).items()}
    return {column: f.entity for column, f in best.items() if f is not None}


@pytest.fixture(scope="module")
def tiers() -> dict[str, str]:
    return {d.entity: d.tier for d in detectors()}


def test_chinook_key_columns(pg_fixture):
    found = scan(pg_fixture("chinook"))
    assert found["customer.email"] == "email"
    assert found["customer.first_name"] == "first_name"
    assert found["customer.last_name"] == "last_name"
    assert found["employee.birth_date"] == "date_of_birth"
    assert "album.title" not in found
    assert "track.name" not in found


@pytest.mark.parametrize("fixture", ["chinook", "pagila", "northwind"])
def test_scan_agrees_with_the_hand_labels(pg_fixture, fixture, tiers):
    labels = yaml.safe_load((LABELS / f"{fixture}.yaml").read_text())["columns"]
    found = scan(pg_fixture(fixture))
    for column, truth in labels.items():
        got = found.get(column, "none")
        if truth != "none" and tiers[truth] in ("A", "B"):
            assert got == truth, f"{fixture}.{column}: expected {truth}, got {got}"
    wrong = [c for c, e in found.items() if labels.get(c, "none") != e]
    assert len(wrong) <= max(1, len(found) // 20), wrong  # precision well over 90%


def test_labels_cover_every_column(pg_fixture):
    for fixture in ("chinook", "pagila", "northwind"):
        labels = yaml.safe_load((LABELS / f"{fixture}.yaml").read_text())["columns"]
        with Source(make_url(pg_fixture(fixture))) as source:
            for info in source.schema.tables.values():
                for col in info.columns:
                    assert f"{info.name}.{col.name}" in labels, f"{fixture}: {info.name}.{col.name} unlabelled"


def test_tier_and_evidence_in_the_report(pg_fixture):
    with Source(make_url(pg_fixture("chinook"))) as source:
        findings = scan_source(source, sample=200)
    email = best_entity([f for f in findings if f.qualified == "public.customer.email"])
    assert email.tier == "A" and email.confidence > 0.9
    assert email.evidence.name_hint and email.evidence.share >= 0.9 and email.evidence.sampled == 59
    assert "public.customer.email" in render(findings, "md")


def test_sqlite_sampling(sqlite_chinook):
    found = scan(sqlite_chinook, sample=100)
    assert found["Customer.Email"] == "email"
    assert found["Employee.FirstName"] == "first_name"
    assert "Album.Title" not in found


def test_sample_must_be_positive(sqlite_chinook):
    with Source(make_url(sqlite_chinook)) as source, pytest.raises(ValueError):
        scan_source(source, sample=0)
