"""The registry (one name, one detector; every detector documented) and the scan renderers."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import sanitizer.detect as detect
from sanitizer.detect import (
    TIERS,
    ColumnFinding,
    Detector,
    DuplicateDetector,
    Evidence,
    Registry,
    best_entity,
    detectors,
    render,
    scan_column,
)
from sanitizer.schema.model import ColumnInfo


def test_public_surface_is_declared():
    assert sorted(detect.__all__) == sorted(set(detect.__all__))
    for name in detect.__all__:
        assert hasattr(detect, name), name


def test_every_detector_is_named_tiered_and_documented():
    reg = detectors()
    assert len(reg) >= 40
    for det in reg:
        assert det.tier in TIERS and det.entity and det.name
        assert (type(det).__doc__ or "").strip(), det.name
    tiers = {d.entity: d.tier for d in reg}
    assert tiers["email"] == tiers["credit_card"] == tiers["iban"] == tiers["us_ssn"] == tiers["national_id"] == "A"
    assert tiers["first_name"] == tiers["street_address"] == tiers["date_of_birth"] == tiers["free_text"] == "B"
    assert tiers["postal_code"] == tiers["city"] == tiers["gender"] == tiers["age"] == tiers["job"] == "C"


def test_duplicates_are_rejected():
    class One(Detector):
        """A test detector."""

        name = "one"
        entity = "one"
        tier = "A"

    reg = Registry()
    reg.add(One())
    with pytest.raises(DuplicateDetector, match="registered twice"):
        reg.add(One())


def test_a_bad_tier_is_rejected():
    class Bad(Detector):
        """A test detector."""

        name = "bad"
        entity = "bad"
        tier = "D"

    with pytest.raises(ValueError, match="tier"):
        Registry().add(Bad())


def _finding(column: str, entity: str, tier: str, confidence: float) -> ColumnFinding:
    return ColumnFinding("public.t", column, entity, tier, confidence, Evidence(entity, True, 0.97, 0.5, 1000, True))


def test_best_entity_prefers_confidence_then_tier():
    a, b = _finding("c", "phone", "A", 0.9), _finding("c", "job", "C", 0.9)
    assert best_entity([b, a]) is a
    assert best_entity([_finding("c", "city", "C", 0.95), a]).entity == "city"
    assert best_entity([]) is None


@pytest.mark.parametrize("fmt", ["table", "json", "md"])
def test_render_formats_show_column_entity_tier_confidence_evidence(fmt):
    findings = [_finding("email", "email", "A", 0.99), _finding("notes", "free_text", "B", 0.7)]
    out = render(findings, fmt)
    for text in ("public.t.email", "email", "free_text", "0.99"):
        assert text in out
    if fmt == "json":
        rows = json.loads(out)
        assert rows[0]["evidence"]["sampled"] == 1000 and rows[0]["tier"] == "A"
    if fmt == "md":
        assert out.startswith("| column | entity | tier | confidence | evidence |")


def test_render_best_only_keeps_one_row_per_column():
    findings = [_finding("c", "first_name", "B", 0.9), _finding("c", "last_name", "B", 0.8)]
    assert render(findings, "json", best_only=True).count('"entity"') == 1
    assert render([], "table") == "no personal data detected\n"
    with pytest.raises(ValueError):
        render(findings, "xml")  # type: ignore[arg-type]


def test_rendered_output_never_holds_values():
    values = ["jane.roe@corp.example", "max.moe@corp.example", "ann.lee@corp.example"]
    info = ColumnInfo(table="t", name="mail", type_name="text", arrow_type=pa.string())
    findings = scan_column(info, pa.array(values))
    assert findings
    for fmt in ("table", "json", "md"):
        out = render(findings, fmt)
        assert not any(v in out or v.split("@")[0] in out for v in values)
