"""`sanitizer synth` end to end, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
RULES = str(REPO / "rules" / "chinook.yaml")


def test_synth_writes_parquet_files_with_a_manifest(cli, pg_fixture, tmp_path: Path) -> None:
    out = tmp_path / "synth"
    result = cli("synth", "--source", pg_fixture("chinook"), "--rules", RULES, "--rows", "200",
                 "--rows", "invoice_line=1000", "--out", str(out), "--seed", "5", key=None)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["load_order"].index("public.customer") < manifest["load_order"].index("public.invoice")
    assert manifest["tables"]["public.invoice_line"]["rows"] == 1000
    again = tmp_path / "again"
    cli("synth", "--source", pg_fixture("chinook"), "--rules", RULES, "--rows", "200", "--rows",
        "invoice_line=1000", "--out", str(again), "--seed", "5", key=None)
    assert pq.read_table(out / "public.customer.parquet").equals(pq.read_table(again / "public.customer.parquet"))


def test_synth_loads_staging_through_the_atomic_target(cli, pg_fixture, pg_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "pagila.yaml"
    rules.write_text("version: 1\ndefaults: {unknown_columns: keep}\n")
    result = cli("synth", "--source", pg_fixture("pagila"), "--rules", str(rules), "--rows", "300", "--target", pg_url)
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM payment").scalar() == 300
            new = conn.exec_driver_sql("INSERT INTO actor (first_name, last_name) VALUES ('a', 'b') "
                                       "RETURNING actor_id").scalar()
            assert new == 301  # the serial's sequence was moved past the generated ids
    finally:
        engine.dispose()


def test_synth_usage_errors_exit_2(cli, tmp_path: Path) -> None:
    neither = cli("synth", "--rules", RULES, "--rows", "5", "--out", str(tmp_path / "x"))
    assert neither.returncode == 2 and "exactly one of --schema FILE" in neither.stderr
    bad_rows = cli("synth", "--schema", "s.json", "--rules", RULES, "--rows", "many", "--out", str(tmp_path / "x"))
    assert bad_rows.returncode == 2 and "--rows many" in bad_rows.stderr


def test_synth_from_a_schema_snapshot_needs_no_database(cli, pg_fixture, tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    from sanitizer.schema.snapshot import take_snapshot, write_snapshot
    from sanitizer.source.reader import Source

    with Source(make_url(pg_fixture("chinook"))) as source:
        write_snapshot(take_snapshot(source), tmp_path / "schema.json")
    out = tmp_path / "synth"
    result = cli("synth", "--schema", str(tmp_path / "schema.json"), "--rules", RULES, "--rows", "customer=118",
                 "--out", str(out), "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = json.loads((out / "manifest.json").read_text())["tables"]
    assert rows["public.customer"]["rows"] == 118
    assert rows["public.invoice"]["rows"] == 824  # scaled as in the source: 59 customers, 412 invoices
