"""`sanitizer run` PostgreSQL -> PostgreSQL on the real Chinook database."""

from __future__ import annotations

import json
from pathlib import Path

from dbs import query_rows as rows

from sanitizer.validate.leak import low_entropy

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "chinook.yaml"
MASKED = {
    "customer": ["first_name", "last_name", "company", "address", "postal_code", "phone", "fax", "email"],
    "employee": ["first_name", "last_name", "birth_date", "address", "postal_code", "phone", "fax", "email"],
    "invoice": ["billing_address", "billing_postal_code"],
}
LOW_ENTROPY = {"first_name", "last_name", "birth_date"}  # same-row check only (docs/validation.md)




def counts(url: str) -> dict[str, int]:
    tables = [r[0] for r in rows(url, "select tablename from pg_tables where schemaname='public'")]
    return {t: rows(url, f'select count(*) from "{t}"')[0][0] for t in tables}


def all_text(url: str) -> str:
    cells = []
    for (table,) in rows(url, "select tablename from pg_tables where schemaname='public'"):
        for row in rows(url, f'select * from "{table}"'):
            cells.extend(str(v) for v in row if v is not None)
    return "\n".join(cells).lower()


def test_chinook_pg_to_pg_masks_people_and_keeps_the_rest(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    source, staging = pg_fixture("chinook"), pg_url
    result = cli("run", "--source", source, "--target", staging, "--rules", str(RULES),
                 "--report-dir", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    assert "validation: PASS" in result.stdout
    assert counts(staging) == counts(source)

    text = all_text(staging)
    for table, columns in MASKED.items():
        key = f"{table}_id"
        for column in columns:
            pairs = rows(source, f"select {key}, {column} from {table} order by {key}")
            masked = dict(rows(staging, f"select {key}, {column} from {table} order by {key}"))
            for pk, original in pairs:
                if original is not None:
                    assert masked[pk] != original, f"{table}.{column} kept a value"
                    if column not in LOW_ENTROPY and not low_entropy(str(original).lower()):
                        assert str(original).lower() not in text, f"an original {table}.{column} value leaked"
    # kept columns are untouched, keys still join, constraints and indexes are back
    tracks = "select * from track order by track_id"
    assert rows(source, tracks) == rows(staging, tracks)
    assert rows(staging, "select count(*) from invoice i join customer c using (customer_id)")[0][0] == 412
    fks = "select count(*) from pg_constraint where contype='f' and connamespace='public'::regnamespace"
    assert rows(staging, fks) == rows(source, fks)
    indexes = "select indexname from pg_indexes where schemaname='public' order by 1"
    assert rows(staging, indexes) == rows(source, indexes)
    # the copy of customer.address in invoice.billing_address got the same fake (shared domain)
    same = ("select count(*) from invoice i join customer c using (customer_id) "
            "where i.billing_address = c.address")
    assert rows(staging, same) == rows(source, same)
    # no shadow or old schema is left; the only sanitizer schema is the audit log's (docs/access-and-audit.md)
    assert rows(staging, "select nspname from pg_namespace where nspname like 'sanitizer%%'") == [("sanitizer_audit",)]
    tables_section = (tmp_path / "report" / "report.md").read_text().split("## Tables", 1)[1]
    assert tables_section.count("| public.customer |") == 1


def test_same_key_reproduces_output_and_another_key_does_not(cli, pg_fixture, pg_server) -> None:
    source = pg_fixture("chinook")
    outputs = []
    for key in ("first-key-0123456789", "first-key-0123456789", "other-key-0123456789"):
        staging = pg_server.new_database("stg")
        result = cli("run", "--source", source, "--target", staging, "--rules", str(RULES), key=key)
        assert result.returncode == 0, result.stderr
        outputs.append(rows(staging, "select * from customer order by customer_id"))
        pg_server.drop_database(staging)
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]
    differing = sum(a != b for a, b in zip(outputs[0], outputs[2], strict=True))
    assert differing == len(outputs[0])


def test_validation_failure_leaves_staging_as_it_was(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    source, staging = pg_fixture("chinook"), pg_url
    assert cli("run", "--source", source, "--target", staging, "--rules", str(RULES)).returncode == 0
    before = rows(staging, "select * from customer order by customer_id")
    # a rules file that keeps invoice.billing_address: the customer's real address leaks through the copy
    leaky = tmp_path / "leaky.yaml"
    leaky.write_text(RULES.read_text().replace(
        "billing_address: {strategy: fake, kind: street_address}", "billing_address: keep"))
    result = cli("run", "--source", source, "--target", staging, "--rules", str(leaky),
                 "--report-dir", str(tmp_path / "r"), key="other-key-0123456789")
    assert result.returncode == 1
    assert "original_value_in_output: public.invoice.billing_address" in result.stderr
    assert "(original from public.customer.address)" in result.stderr
    assert rows(staging, "select * from customer order by customer_id") == before
    report = (tmp_path / "r" / "report.md").read_text()
    assert "FAIL" in report and "invoice.billing_address" in report
    originals = {r[0].lower() for r in rows(source, "select address from customer")}
    assert not any(address in report.lower() for address in originals), "the report shows a raw value"


def test_a_run_leaves_no_temporary_files_whatever_its_exit(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    """The command exits without the interpreter's teardown (cli._exit_now): the leak check's spill
    directory is gone and the report is whole, on success and on findings alike."""
    source, staging = pg_fixture("chinook"), pg_url
    leaky = tmp_path / "leaky.yaml"
    leaky.write_text(RULES.read_text().replace(
        "billing_address: {strategy: fake, kind: street_address}", "billing_address: keep"))
    for rules, code in ((RULES, 0), (leaky, 1)):
        scratch = tmp_path / f"tmp-{code}"
        scratch.mkdir()
        result = cli("run", "--source", source, "--target", staging, "--rules", str(rules), "--jobs", "2",
                     "--report-dir", str(tmp_path / f"r{code}"), env={"TMPDIR": str(scratch)})
        assert result.returncode == code, result.stderr
        assert list(scratch.iterdir()) == []
        assert json.loads((tmp_path / f"r{code}" / "report.json").read_text())["tables"]
        assert ("validation: PASS" in result.stdout) == (code == 0)


def test_uncovered_column_stops_the_run_with_a_line_to_paste(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    source = pg_fixture("chinook")
    partial = tmp_path / "partial.yaml"
    dropped = ("      fax: {strategy: mask, keep_last: 2}\n"
               "      email: {strategy: fake, kind: email, unique: true}\n      support_rep_id")
    partial.write_text(RULES.read_text().replace(dropped, "      support_rep_id"))
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(partial))
    assert result.returncode == 1
    assert "2 column(s) have no rule" in result.stderr
    assert "public.customer:  fax: keep" in result.stderr and "public.customer:  email: keep" in result.stderr
    assert counts(pg_url) == {}


def test_unknown_table_or_column_against_the_source_is_exit_2(cli, pg_fixture, tmp_path: Path) -> None:
    source = pg_fixture("chinook")
    bad_table = tmp_path / "t.yaml"
    bad_table.write_text("tables:\n  customers:\n    columns: {id: keep}\n")
    result = cli("rules", "check", str(bad_table), "--source", source)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {bad_table}: tables.customers: no such table in the source")
    bad_column = tmp_path / "c.yaml"
    bad_column.write_text("tables:\n  customer:\n    columns: {emial: hash}\n")
    result = cli("rules", "check", str(bad_column), "--source", source)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"error: {bad_column}: tables.customer.columns.emial: no column 'emial' in public.customer")
    ok = cli("rules", "check", str(RULES), "--source", source)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 11 tables")


def test_strategy_that_cannot_serve_the_column_is_exit_2(cli, pg_fixture, tmp_path: Path) -> None:
    source = pg_fixture("chinook")
    bad = tmp_path / "b.yaml"
    bad.write_text(RULES.read_text().replace("      last_name: {strategy: fake, kind: last_name}\n      first_name",
                                             "      last_name: nullify\n      first_name"))
    result = cli("rules", "check", str(bad), "--source", source)
    assert result.returncode == 2
    assert "tables.employee.columns.last_name: public.employee.last_name (VARCHAR(20)): the column is NOT NULL" \
        in result.stderr


def test_without_pg_dump_serial_columns_keep_their_sequence_and_its_value(cli, pg_url, pg_server,
                                                                          tmp_path: Path) -> None:
    """The reflected fallback (no usable pg_dump): one sequence per serial column, set to the source's value,
    in the default schema and in another one, so inserts into staging do not collide with loaded rows."""
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id serial PRIMARY KEY, name text)")
        conn.exec_driver_sql("INSERT INTO t (name) SELECT 'n' || i FROM generate_series(1, 50) i")
        conn.exec_driver_sql("CREATE SCHEMA other")
        conn.exec_driver_sql("CREATE TABLE other.u (id bigserial PRIMARY KEY, v text)")
        conn.exec_driver_sql("INSERT INTO other.u (v) VALUES ('a'), ('b')")
    engine.dispose()
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\ntables:\n  t: {columns: {id: keep, name: keep}}\n"
                     "  other.u: {columns: {id: keep, v: keep}}\n")
    staging = pg_server.new_database("noseq")
    result = cli("run", "--source", pg_url, "--target", staging, "--rules", str(rules),
                 env={"SANITIZER_PG_DUMP": str(tmp_path / "no-pg_dump")})
    assert result.returncode == 0, result.stderr
    assert "staging gets tables, keys and indexes only" in result.stderr
    assert sorted(rows(staging, "SELECT schemaname, sequencename, last_value FROM pg_sequences "
                                "WHERE schemaname IN ('public', 'other')")) == \
        [("other", "u_id_seq", 2), ("public", "t_id_seq", 50)]
    engine = sa.create_engine(staging)
    with engine.begin() as conn:  # the next insert follows on
        assert conn.exec_driver_sql("INSERT INTO t (name) VALUES ('new') RETURNING id").scalar() == 51
    engine.dispose()
    pg_server.drop_database(staging)


def test_without_pg_dump_enum_columns_get_their_type_in_staging(cli, pg_url, pg_server, tmp_path: Path) -> None:
    """The reflected fallback creates the enum types its tables use (they move with the swap), so a
    source with enums still loads when pg_dump cannot be used (e.g. older than the server)."""
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        conn.exec_driver_sql("CREATE TABLE feelings (id int PRIMARY KEY, now mood, email text)")
        conn.exec_driver_sql("INSERT INTO feelings SELECT i, (ARRAY['sad', 'ok', 'happy'])[1 + i %% 3]::mood, "
                             "'p' || i || '@example.org' FROM generate_series(1, 30) i")
    engine.dispose()
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\ntables:\n  feelings: {columns: {id: keep, now: keep, email: {strategy: email}}}\n")
    staging = pg_server.new_database("noenum")
    for _ in range(2):  # and again over the first load: the old staging's type goes with its schema
        result = cli("run", "--source", pg_url, "--target", staging, "--rules", str(rules),
                     env={"SANITIZER_PG_DUMP": str(tmp_path / "no-pg_dump")})
        assert result.returncode == 0, result.stderr
    query = "SELECT id, now::text FROM feelings ORDER BY id"
    assert rows(staging, query) == rows(pg_url, query)
    assert rows(staging, "SELECT n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                         "WHERE t.typname = 'mood'") == [("public", "mood")]
