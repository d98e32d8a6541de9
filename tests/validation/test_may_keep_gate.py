"""The gate honours what a strategy declares it may keep (issue 14.2), on real PostgreSQL.

scrub returns text without PII as it is and regex text without a match: those rows are no
`unchanged_value`, and their own originals are no `original_value_in_output`, while the pattern check
still reads every cell of both columns, so PII the strategy missed still stops the run.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from dbs import query_rows as rows
from sqlalchemy.pool import NullPool

ROWS = 40_000
PII_EVERY = 10  # one ticket in ten holds an e-mail; the rest hold none


def _tickets(url: str) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE tickets (id int PRIMARY KEY, body text NOT NULL, ref text)")
        conn.exec_driver_sql(f"""
            INSERT INTO tickets
            SELECT i,
                   CASE WHEN mod(i, {PII_EVERY}) = 0 THEN 'Please write to jane.roe' || i || '@corp-mail.net about it'
                        ELSE 'Printer on floor ' || mod(i, 40) || ' is jammed again, ticket ' || i END,
                   CASE WHEN mod(i, 3) = 0 THEN 'ACC-' || lpad(i::text, 8, '0') ELSE 'none given' END
            FROM generate_series(1, {ROWS}) AS i""")
    engine.dispose()


RULES = """\
version: 1
tables:
  tickets:
    columns:
      id: keep
      body: {strategy: scrub, replace: placeholder}
      ref: {strategy: regex, pattern: 'ACC-[0-9]+', replacement: 'ACC-XXXX'}
"""


def test_scrub_and_regex_keep_pii_free_text_and_the_run_passes(cli, pg_server, pg_url, tmp_path: Path) -> None:
    source = pg_server.new_database("notes")
    _tickets(source)
    rules = tmp_path / "tickets.yaml"
    rules.write_text(RULES)
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules),
                 "--report-dir", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    kept = rows(pg_url, "SELECT count(*) FROM tickets WHERE starts_with(body, 'Printer on floor ')")[0][0]
    assert kept == ROWS - ROWS // PII_EVERY  # PII-free text stays as it was
    assert rows(pg_url, "SELECT count(*) FROM tickets WHERE strpos(body, '@corp-mail.net') > 0") == [(0,)]
    assert rows(pg_url, "SELECT count(*) FROM tickets WHERE ref ~ 'ACC-[0-9]'") == [(0,)]
    assert rows(pg_url, "SELECT count(*) FROM tickets WHERE ref = 'none given'")[0][0] == ROWS - ROWS // 3
    report = (tmp_path / "r" / "report.md").read_text()
    assert "unchanged_value" not in report and "original_value_in_output" not in report

    checked = cli("validate", "--source", source, "--target", pg_url, "--rules", str(rules))
    assert checked.returncode == 0, checked.stderr  # the standalone check agrees, rows unpaired


def test_pii_the_strategy_missed_is_still_caught_by_the_pattern_check(cli, pg_server, pg_url,
                                                                      tmp_path: Path) -> None:
    source = pg_server.new_database("notes")
    _tickets(source)
    rules = tmp_path / "tickets.yaml"
    # scrub told to look for phone numbers only: the e-mails stay, and the run must not load them
    rules.write_text(RULES.replace("{strategy: scrub, replace: placeholder}",
                                   "{strategy: scrub, replace: placeholder, entities: [PHONE]}"))
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules))
    assert result.returncode == 1, result.stderr
    assert "pii_pattern_in_output: public.tickets.body" in result.stderr
    assert rows(pg_url, "SELECT count(*) FROM pg_tables WHERE tablename = 'tickets'") == [(0,)]
