"""`coverage` (statuses, exit codes, formats, the HTML page) and `scan` on real Chinook; never a value."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import rows

REPO = Path(__file__).resolve().parents[2]
CHINOOK_RULES = REPO / "rules" / "chinook.yaml"  # hand-written: keeps track.composer (full_name, tier B)
VOID = {"meta", "input", "br", "img", "link", "hr"}


@pytest.fixture
def chinook(pg_fixture) -> str:
    return pg_fixture("chinook")


def people_values(url: str) -> list[str]:
    found = rows(url, "select first_name, last_name, email, phone, address from customer")
    return [v for row in found for v in row if v and len(v) >= 5]


def coverage_json(cli, *args: str) -> tuple[int, dict]:
    result = cli("coverage", *args, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def by_column(report: dict) -> dict[str, dict]:
    return {f"{r['table']}.{r['column']}": r for r in report["columns"]}


def test_statuses_and_exit_code_on_the_hand_written_rules(cli, chinook) -> None:
    code, report = coverage_json(cli, "--rules", str(CHINOOK_RULES), "--source", chinook)
    assert code == 1, "track.composer (full_name, tier B) is kept"
    cols = by_column(report)
    composer = cols["public.track.composer"]
    assert composer["status"] == "uncovered PII" and composer["failing"] and composer["tier"] == "B"
    assert composer["justification"] == "public catalogue"  # the comment shows, but does not excuse tier B
    assert cols["public.customer.email"]["status"] == "covered"
    assert cols["public.customer.email"]["rule"] == "fake unique=True kind=email"
    assert cols["public.customer.city"]["status"] == "kept with justification"  # tier C, commented
    assert cols["public.employee.city"]["status"] == "uncovered PII"  # tier C, no comment: shown, not failing
    assert not cols["public.employee.city"]["failing"]
    assert cols["public.album.title"]["status"] == "kept with justification"  # flow mapping with a comment
    assert cols["public.invoice_line.quantity"]["justification"] is None
    assert report["totals"]["failing"] == 1 and report["totals"]["columns"] == 64
    assert "random rows" in report["mode"]


def test_fail_on_moves_the_gate(cli, chinook, tmp_path: Path) -> None:
    fixed = tmp_path / "chinook.yaml"
    text = CHINOOK_RULES.read_text()
    fixed.write_text(re.sub(r"composer: keep,", "composer: {strategy: person, field: full_name},", text))
    assert coverage_json(cli, "--rules", str(fixed), "--source", chinook)[0] == 0
    code, report = coverage_json(cli, "--rules", str(fixed), "--source", chinook, "--fail-on", "C")
    assert code == 1 and all(r["tier"] == "C" for r in report["columns"] if r["failing"])
    assert coverage_json(cli, "--rules", str(CHINOOK_RULES), "--source", chinook, "--fail-on", "A")[0] == 0


def test_missing_rules_make_columns_uncovered(cli, chinook, tmp_path: Path) -> None:
    partial = tmp_path / "partial.yaml"
    partial.write_text("version: 1\ntables:\n  genre: {columns: {genre_id: keep, name: keep}}\n")
    code, report = coverage_json(cli, "--rules", str(partial), "--source", chinook)
    assert code == 1
    email = by_column(report)["public.customer.email"]
    assert email["status"] == "uncovered PII" and email["rule"].startswith("no rule")


def test_schema_only_mode_says_so(cli, chinook, tmp_path: Path) -> None:
    snap = tmp_path / "schema.json"
    assert cli("schema", "snapshot", "--source", chinook, "-o", str(snap)).returncode == 0
    result = cli("coverage", "--rules", str(CHINOOK_RULES), "--schema", str(snap))
    assert "schema only: no sampled values" in result.stdout
    assert "name hint only, no values looked at" in result.stdout
    assert result.returncode == 1
    both = cli("coverage", "--rules", str(CHINOOK_RULES), "--schema", str(snap), "--source", chinook)
    assert both.returncode == 2 and "exactly one of" in both.stderr


class _Checker(HTMLParser):
    """Tag balance and every attribute that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.refs += [f"{k}={v}" for k, v in attrs if k in ("src", "href", "action")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_html_is_one_well_formed_self_contained_page(cli, chinook, tmp_path: Path) -> None:
    out = tmp_path / "coverage.html"
    result = cli("coverage", "--rules", str(CHINOOK_RULES), "--source", chinook, "--format", "html", "-o", str(out))
    assert result.returncode == 1 and "1 failing" in result.stdout
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "<script>" in page
    assert not re.search(r"https?://|//cdn|@import|url\(", page)
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert not checker.errors and not checker.stack and not checker.refs
    assert "public.track.composer" in page and "uncovered PII" in page
    for value in people_values(chinook):
        assert value not in page


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_coverage_text_formats_hold_no_value(cli, chinook, fmt: str) -> None:
    result = cli("coverage", "--rules", str(CHINOOK_RULES), "--source", chinook, "--format", fmt)
    assert result.stdout.startswith("# PII coverage" if fmt == "md" else "{")
    for value in people_values(chinook):
        assert value not in result.stdout


@pytest.mark.parametrize("fmt", ["table", "json", "md"])
def test_scan_formats_hold_no_value(cli, chinook, fmt: str) -> None:
    result = cli("scan", "--source", chinook, "--format", fmt, "--sample", "200")
    assert result.returncode == 0, result.stderr
    assert "public.customer.email" in result.stdout
    if fmt == "json":
        found = {f["column"]: f for f in json.loads(result.stdout)}
        assert found["public.customer.email"]["tier"] == "A"
    for value in people_values(chinook):
        assert value not in result.stdout


def test_scan_needs_a_source(cli) -> None:
    result = cli("scan", env={"SANITIZER_SOURCE_URL": ""})
    assert result.returncode == 2 and "no source" in result.stderr


@pytest.mark.skipif(not shutil.which("chromium"), reason="no chromium to render the page with")
def test_html_renders_in_headless_chromium(cli, chinook, tmp_path: Path) -> None:
    out = tmp_path / "coverage.html"
    cli("coverage", "--rules", str(CHINOOK_RULES), "--source", chinook, "--format", "html", "-o", str(out))
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120).stdout
    body = dom.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr") == 64  # the script drew every row
    assert 'class="s-uncovered fail"' in body.split("</tr>", 1)[0]  # the failing column comes first
