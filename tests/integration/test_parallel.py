"""--jobs: batches sanitized in worker processes give exactly what one process gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sanitizer.errors import ValidationFailed
from sanitizer.keys import Keyring
from sanitizer.pipeline import RunOptions, new_report, run
from sanitizer.rules import load_rules
from sanitizer.source import pg_copy
from sanitizer.urls import parse

REPO = Path(__file__).resolve().parents[2]


def dump(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = [r[0] for r in conn.exec_driver_sql("select tablename from pg_tables where schemaname='public'")]
        out = {t: sorted(map(tuple, conn.exec_driver_sql(f'select * from "{t}"')), key=repr) for t in tables}
    engine.dispose()
    return out


def test_workers_reproduce_the_single_process_output(pg_fixture, pg_server, monkeypatch) -> None:
    monkeypatch.setattr(pg_copy, "BLOCK_BYTES", 16 << 10)  # many small batches, so the pool really runs
    source = pg_fixture("chinook")
    rules = load_rules([REPO / "rules" / "chinook.yaml"])
    outputs, reports = [], []
    for jobs in (1, 2):
        target = pg_server.new_database("par")
        options = RunOptions(source=parse(source, what="source"), rules=rules, keyring=Keyring("parallel-key-0123456"),
                             target=parse(target, what="target"), jobs=jobs)
        report = run(options, new_report(options, {}))
        outputs.append(dump(target))
        reports.append({t.name: (t.rows_read, t.rows_written) for t in report.tables})
        pg_server.drop_database(target)
    assert reports[0] == reports[1]
    assert max(rows for rows, _ in reports[0].values()) > 8000
    assert outputs[0] == outputs[1]


def test_a_leak_is_found_when_workers_do_the_work(pg_fixture, pg_server, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pg_copy, "BLOCK_BYTES", 16 << 10)
    source = pg_fixture("chinook")
    leaky = tmp_path / "leaky.yaml"
    leaky.write_text((REPO / "rules" / "chinook.yaml").read_text().replace(
        "billing_address: {strategy: fake, kind: street_address}", "billing_address: keep"))
    target = pg_server.new_database("par")
    options = RunOptions(source=parse(source, what="source"), rules=load_rules([leaky]),
                         keyring=Keyring("parallel-key-0123456"), target=parse(target, what="target"), jobs=2)
    report = new_report(options, {})
    with pytest.raises(ValidationFailed):
        run(options, report)
    finds = {(f.kind, f.column, f.source) for f in report.findings}
    assert ("original_value_in_output", "public.invoice.billing_address", "public.customer.address") in finds
    pg_server.drop_database(target)
