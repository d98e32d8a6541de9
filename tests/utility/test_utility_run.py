"""The utility and k-anonymity reports of a real run (PostgreSQL -> PostgreSQL), checked against the
databases' own aggregates, and their gates (--min-utility, --min-k) stopping the swap."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from dbs import execute
from dbs import query_rows as rows

PEOPLE = 30_000
SCHEMA = f"""
CREATE TABLE people (id int PRIMARY KEY, zip text NOT NULL, birth_date date NOT NULL, gender text NOT NULL,
                     salary numeric(10,2), email text UNIQUE, city text NOT NULL);
INSERT INTO people
SELECT g, 'Z' || lpad(mod(g * 7, 40)::text, 3, '0'), date '1950-01-01' + mod(g * 37, 18000),
       CASE WHEN mod(g, 50) = 0 THEN 'X' WHEN mod(g, 2) = 0 THEN 'F' ELSE 'M' END,
       CASE WHEN mod(g, 20) = 0 THEN NULL
            ELSE round((20000 + (date '2026-01-01' - (date '1950-01-01' + mod(g * 37, 18000))) * 2.2
                        + mod(g * 7919, 5000))::numeric, 2) END,
       'person' || g || '@example.org', 'City' || mod(g, 300)
FROM generate_series(1, {PEOPLE}) g;
CREATE TABLE orders (id serial PRIMARY KEY, person_id int NOT NULL REFERENCES people(id), amount int NOT NULL);
INSERT INTO orders (person_id, amount)
SELECT p.id, 10 + mod(p.id * k, 90) FROM people p, generate_series(1, 6) k WHERE k <= 1 + mod(p.id * 13, 6);
ANALYZE;
"""


def rules_file(path: Path, people: dict[str, str], quasi: list[str] | None = None) -> Path:
    columns = {"id": "keep", "zip": "keep", "birth_date": "keep", "gender": "keep", "city": "keep",
               "salary": "{strategy: noise, relative: 0.01}", "email": "{strategy: fake, kind: email, unique: true}"}
    columns.update(people)
    lines = ["version: 1", "tables:", "  people:"]
    if quasi is not None:
        lines.append(f"    quasi_identifiers: [{', '.join(quasi)}]")
    lines.append("    columns:")
    lines += [f"      {name}: {value}" for name, value in columns.items()]
    lines += ["  orders:", "    columns:", "      id: keep", "      person_id: keep", "      amount: keep"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def source(pg_server) -> str:
    url = pg_server.new_database("people")
    execute(url, SCHEMA)
    yield url
    pg_server.drop_database(url)


def report_of(directory: Path) -> dict:
    return json.loads((directory / "report.json").read_text())


def column(report: dict, table: str, name: str) -> dict:
    found = next(t for t in report["utility"]["tables"] if t["table"].endswith(table))
    return next(c for c in found["columns"] if c["column"] == name)


def pair(report: dict, table: str, names: set[str]) -> dict:
    found = next(t for t in report["utility"]["tables"] if t["table"].endswith(table))
    return next(p for p in found["pairs"] if set(p["columns"]) == names)


def snapshot_of(url: str) -> list[tuple]:
    return rows(url, "SELECT count(*), sum(hashtext(p::text)) FROM people p") + \
        rows(url, "SELECT count(*), sum(hashtext(o::text)) FROM orders o")


def test_scores_agree_with_the_databases_own_aggregates(cli, source, pg_url, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules_file(tmp_path / "r.yaml", {})),
                 "--report-dir", str(out))
    assert result.returncode == 0, result.stderr
    report = report_of(out)
    corr = "corr(salary::float8, birth_date - date '1950-01-01')"
    [(r_source,)] = rows(source, f"SELECT {corr} FROM people")
    [(r_staging,)] = rows(pg_url, f"SELECT {corr} FROM people")
    trend = pair(report, "people", {"salary", "birth_date"})
    assert trend["source_r"] == pytest.approx(r_source, abs=0.002)
    assert trend["staging_r"] == pytest.approx(r_staging, abs=0.002)
    assert abs(r_source) > 0.5 and trend["score"] > 0.99  # 1% noise keeps the age-salary trend

    salary = column(report, "people", "salary")
    [(nulls,)] = rows(source, "SELECT avg((salary IS NULL)::int)::float8 FROM people")
    assert salary["null_share"]["source"] == pytest.approx(nulls, abs=1e-4)
    assert salary["metric"] == "KSComplement" and salary["score"] > 0.97

    email = column(report, "people", "email")
    assert email["kind"] == "text" and email["distinct_share"]["source"] == pytest.approx(1.0, abs=0.05)

    [fan] = next(t for t in report["utility"]["tables"] if t["table"].endswith("orders"))["fan_out"]
    [(mean_children,)] = rows(source, "SELECT avg(n)::float8 FROM (SELECT count(*) n FROM orders GROUP BY person_id) c")
    assert fan["mean_children"]["source"] == pytest.approx(mean_children, rel=0.1)  # a hash sample of parents
    assert fan["score"] == 1.0  # kept keys: the very same fan-out
    assert 0.9 < report["utility"]["score"] <= 1.0

    # the reports hold scores and shares, no value of a sensitive column
    texts = (out / "report.json").read_text() + (out / "report.md").read_text() + (out / "utility.html").read_text()
    for (email_value, salary_value) in rows(source, "SELECT email, salary::text FROM people WHERE salary IS NOT NULL "
                                                    "ORDER BY id LIMIT 500"):
        assert email_value not in texts and salary_value not in texts


def test_a_shuffle_keeps_the_column_but_breaks_its_trend_and_min_utility_stops_the_swap(
        cli, source, pg_url, tmp_path: Path) -> None:
    good = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules_file(tmp_path / "a.yaml", {})),
               "--report-dir", str(tmp_path / "a"))
    assert good.returncode == 0, good.stderr
    before = snapshot_of(pg_url)
    broken = rules_file(tmp_path / "b.yaml", {"salary": "shuffle", "zip": "{strategy: set, value: Z000}"})
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(broken),
                 "--report-dir", str(tmp_path / "b"), "--min-utility", "0.9")
    a, b = report_of(tmp_path / "a"), report_of(tmp_path / "b")
    assert b["utility"] is not None, result.stderr
    assert column(b, "people", "salary")["score"] > 0.97  # the same values, in other rows
    assert pair(b, "people", {"salary", "birth_date"})["score"] < 0.75  # ...so age no longer predicts salary
    assert column(b, "people", "zip")["score"] < 0.6  # one value left of forty
    assert b["utility"]["score"] < 0.9 <= a["utility"]["score"]
    assert result.returncode == 1, result.stderr
    assert "utility_below_minimum" in result.stderr and "people.zip" in result.stderr
    assert snapshot_of(pg_url) == before  # staging kept the last good refresh


def test_k_anonymity_is_exact_and_min_k_gates_the_swap(cli, source, pg_url, tmp_path: Path) -> None:
    kept = rules_file(tmp_path / "kept.yaml", {}, quasi=["zip", "gender"])  # birth_date found by its name
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(kept), "--report-dir",
                 str(tmp_path / "kept"), "--min-k", "2")
    assert result.returncode == 1
    assert "k_anonymity_below_minimum: public.people" in result.stderr
    [risk] = [t for t in report_of(tmp_path / "kept")["risk"]["tables"] if t["table"].endswith("people")]
    assert set(risk["linkable"]) == {"zip", "birth_date", "gender", "city"}  # city: found by its name too
    groups = "SELECT count(*) n FROM people GROUP BY zip, birth_date, gender, city"
    [(smallest, unique, below)] = rows(source, f"SELECT min(n), sum((n = 1)::int), sum(n) FILTER (WHERE n < 2) "
                                               f"FROM ({groups}) g")
    assert (risk["smallest_k"], risk["unique_rows"], risk["rows_below_min_k"]) == (smallest, unique, below)
    assert rows(pg_url, "SELECT count(*) FROM pg_tables WHERE tablename = 'people'") == [(0,)]  # never loaded

    coarse = rules_file(tmp_path / "coarse.yaml", {"birth_date": "{strategy: generalize, to: year}",
                                                   "gender": "{strategy: set, value: U}",
                                                   "city": "{strategy: fake, kind: city}"}, quasi=["zip", "gender"])
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(coarse), "--report-dir",
                 str(tmp_path / "coarse"), "--min-k", "2")
    [risk] = [t for t in report_of(tmp_path / "coarse")["risk"]["tables"] if t["table"].endswith("people")]
    groups = "SELECT count(*) n FROM people GROUP BY zip, date_trunc('year', birth_date)"  # gender: one value
    [(smallest,)] = rows(source, f"SELECT min(n) FROM ({groups}) g")
    assert risk["smallest_k"] == smallest >= 2
    assert {q["column"]: q["linkable"] for q in risk["quasi_identifiers"]}["city"] is False  # a keyed fake
    assert result.returncode == 0, result.stderr


def test_a_declared_quasi_identifier_that_is_no_column_is_a_one_line_error(cli, source, pg_url, tmp_path) -> None:
    rules = rules_file(tmp_path / "r.yaml", {}, quasi=["postcode"])
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {rules}: tables.people.quasi_identifiers[0]: public.people has no column 'postcode'; "
        "list columns of the table"]


def test_sanitizer_utility_scores_a_staging_loaded_earlier(cli, source, pg_url, tmp_path: Path) -> None:
    rules = rules_file(tmp_path / "r.yaml", {"salary": "shuffle"})
    assert cli("run", "--source", source, "--target", pg_url, "--rules", str(rules),
               "--report-dir", str(tmp_path / "run")).returncode == 0
    corr, values = ("SELECT corr(salary::float8, birth_date - date '1950-01-01') FROM people",
                    "SELECT array_agg(salary ORDER BY salary) FROM people")
    assert rows(pg_url, values) == rows(source, values)  # shuffle moves values (it was once a no-op in runs)
    assert abs(rows(pg_url, corr)[0][0]) < 0.1 < abs(rows(source, corr)[0][0])  # ...away from their rows
    result = cli("utility", "--source", source, "--target", pg_url, "--rules", str(rules), "--format", "json")
    assert result.returncode == 0, result.stderr
    alone, during = json.loads(result.stdout)["utility"], report_of(tmp_path / "run")["utility"]
    assert pair({"utility": alone}, "people", {"salary", "birth_date"})["staging_r"] == pytest.approx(
        pair({"utility": during}, "people", {"salary", "birth_date"})["staging_r"], abs=1e-6)
    assert alone["score"] == pytest.approx(during["score"], abs=0.02)
    gated = cli("utility", "--source", source, "--target", pg_url, "--rules", str(rules), "--min-utility", "0.99",
                "-o", str(tmp_path / "u.md"))
    assert gated.returncode == 1 and "utility_below_minimum" in gated.stderr
    assert (tmp_path / "u.md").read_text().startswith("# sanitizer utility report")
    missing = cli("utility", "--source", source)
    assert missing.returncode == 2 and missing.stderr.strip().splitlines() == [
        "error: utility: pass --source URL (production) and --target URL (staging)"]


@pytest.mark.skipif(not shutil.which("chromium"), reason="no chromium to render the page with")
def test_the_html_report_renders_offline_in_headless_chromium(cli, source, pg_url, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert cli("run", "--source", source, "--target", pg_url, "--rules", str(rules_file(tmp_path / "r.yaml", {})),
               "--report-dir", str(out)).returncode == 0
    page = out / "utility.html"
    assert "http://" not in page.read_text() and "https://" not in page.read_text()  # no CDN, no fetch
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    report = report_of(out)["utility"]
    charts = sum(1 for t in report["tables"] for c in t["columns"] + t["fan_out"] if c["chart"])
    assert dom.count("<svg") == charts > 0
    assert dom.count("<polyline") + dom.count("<rect") > charts  # every chart drew its curve or bars
    assert f"{report['score']:.3f}" in dom
    shot = tmp_path / "page.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1100,1400", page.as_uri()], capture_output=True, timeout=120)
    assert shot.stat().st_size > 20_000  # a page with text and charts, not a blank one
