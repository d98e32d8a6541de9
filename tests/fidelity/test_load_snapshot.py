"""`run --out` on the production side, `load --from` on the staging side: staging ends as a direct
`run --target` would leave it (same schema by pg_dump, same rows, same masked values, same sequences),
and a damaged snapshot or a failing load leaves staging exactly as it was."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fidelity_helpers import checksums, counts, leftovers, rows, schema_dump, sequences
from rules_files import keep_all_rules

from sanitizer.load.parquet import file_sha256

REPO = Path(__file__).resolve().parents[2]
PASCAL = REPO / "rules" / "chinook-pascal.yaml"  # the SQLite edition's names
CHINOOK = REPO / "rules" / "chinook.yaml"
PAGILA_MASKS = {"customer": {"first_name": {"strategy": "fake", "kind": "first_name"},
                             "last_name": {"strategy": "fake", "kind": "last_name"},
                             "email": {"strategy": "fake", "kind": "email", "unique": True}}}


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def snapshot_text(directory: Path) -> str:
    """Every cell of every table file, and every other file, as one lower-case text."""
    parts = [p.read_text(encoding="utf-8") for p in directory.rglob("*") if p.is_file() and p.suffix != ".parquet"]
    for path in (directory / "tables").glob("*.parquet"):
        for column in pq.read_table(path).columns:
            parts.extend(str(v) for v in column.to_pylist() if v is not None)
    return "\n".join(parts).lower()


def test_pagila_through_a_snapshot_equals_a_direct_run(cli, pg_fixture, pg_url, pg_server, tmp_path: Path) -> None:
    source, loaded = pg_fixture("pagila"), pg_url
    rules = keep_all_rules(source, tmp_path / "rules.yaml", PAGILA_MASKS)
    snap = tmp_path / "snap"
    ok(cli("run", "--source", source, "--rules", str(rules), "--out", str(snap)))
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["format"] == "sanitizer-snapshot/2" and manifest["pg_ddl"]["schemas"] == ["public"]
    assert (snap / "schema" / "pre-data.sql").is_file() and manifest["sequences"]
    order = manifest["load_order"]
    assert order.index("public.film") < order.index("public.inventory") < order.index("public.rental")
    assert order.index("public.address") < order.index("public.customer") < order.index("public.rental")
    # only sanitized rows leave production: no original e-mail in any file of the snapshot
    originals = {r[0].lower() for r in rows(source, "SELECT email FROM customer WHERE email IS NOT NULL")}
    text = snapshot_text(snap)
    assert originals and not any(email in text for email in originals)

    direct = pg_server.new_database("direct")
    try:
        ok(cli("run", "--source", source, "--target", direct, "--rules", str(rules)))
        for _ in range(2):  # a second load replaces the first one's staging
            out = ok(cli("load", "--from", str(snap), "--target", loaded))
            assert "staging swapped" in out
            assert f"rows: {sum(t['rows'] for t in manifest['tables'].values()):,}, checksums verified" in out
            assert schema_dump(loaded) == schema_dump(source)
            assert counts(loaded) == counts(source)
            assert sequences(loaded) == sequences(source)
            assert checksums(loaded) == checksums(direct)  # same rows, same masked values, same key
            assert leftovers(loaded) == []
    finally:
        pg_server.drop_database(direct)
    people = "SELECT customer_id, first_name, last_name, email FROM customer ORDER BY 1"
    assert all(a[0] == b[0] and a[1:] != b[1:] for a, b in zip(rows(source, people), rows(loaded, people),
                                                                strict=True))


def test_without_pg_dump_a_postgres_snapshot_loads_from_its_recorded_facts(cli, pg_fixture, pg_url,
                                                                           tmp_path: Path) -> None:
    source, snap = pg_fixture("pagila"), tmp_path / "snap"
    rules = keep_all_rules(source, tmp_path / "rules.yaml", PAGILA_MASKS)
    made = cli("run", "--source", source, "--rules", str(rules), "--out", str(snap),
               env={"SANITIZER_PG_DUMP": str(tmp_path / "no-pg_dump")})
    assert made.returncode == 0, made.stderr
    assert "staging gets tables, keys and indexes only" in made.stderr
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["pg_ddl"] is None and not (snap / "schema").exists()
    ok(cli("load", "--from", str(snap), "--target", pg_url))
    for name, entry in manifest["tables"].items():
        assert rows(pg_url, f"SELECT count(*) FROM {name}") == [(entry["rows"],)], name
    public = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
    assert rows(pg_url, public) == rows(source, public)  # serial columns continue where the source's are
    public_tables = "relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition"
    keys = ("SELECT c.relname, contype, count(*) FROM pg_constraint JOIN pg_class c ON c.oid = conrelid "
            f"WHERE contype IN ('p', 'f') AND {public_tables} GROUP BY 1, 2 ORDER BY 1, 2")
    assert rows(pg_url, keys) == rows(source, keys)
    unique = ("SELECT c.relname, count(*) FROM pg_index JOIN pg_class c ON c.oid = indrelid "
              f"WHERE indisunique AND {public_tables} GROUP BY 1 ORDER BY 1")
    assert rows(pg_url, unique) == rows(source, unique)  # UNIQUE indexes come back as UNIQUE constraints
    assert rows(pg_url, "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_last_name'") == [
        ("CREATE INDEX idx_last_name ON public.customer USING btree (last_name)",)]
    films = "SELECT film_id, title, rental_rate, special_features::text, rating::text FROM film ORDER BY 1"
    assert rows(pg_url, films) == rows(source, films)


def test_sqlite_snapshot_loads_into_sqlite_and_postgres_like_a_direct_run(cli, sqlite_chinook, pg_url, pg_server,
                                                                          tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    ok(cli("run", "--source", sqlite_chinook, "--rules", str(PASCAL), "--out", str(snap)))
    ok(cli("load", "--from", str(snap), "--target", f"sqlite:///{tmp_path / 'loaded.db'}"))
    direct_db = f"sqlite:///{tmp_path / 'direct.db'}"
    ok(cli("run", "--source", sqlite_chinook, "--rules", str(PASCAL), "--target", direct_db))
    dumps = []
    for name in ("loaded.db", "direct.db"):
        with sqlite3.connect(tmp_path / name) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                 "AND name NOT LIKE 'sqlite%' ORDER BY 1")]
            dumps.append({t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables})
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert len(dumps[0]) == 11 and dumps[0] == dumps[1]

    direct = pg_server.new_database("direct")
    try:
        ok(cli("load", "--from", str(snap), "--target", pg_url))
        ok(cli("run", "--source", sqlite_chinook, "--rules", str(PASCAL), "--target", direct))
        assert schema_dump(pg_url) == schema_dump(direct)  # types, keys, FKs and indexes as run makes them
        assert checksums(pg_url) == checksums(direct)
    finally:
        pg_server.drop_database(direct)
    assert rows(pg_url, 'SELECT count(*) FROM "InvoiceLine" l JOIN "Invoice" i USING ("InvoiceId")') == [(2240,)]


def test_a_tampered_or_missing_table_file_is_exit_1_and_staging_unchanged(cli, pg_fixture, pg_url,
                                                                          tmp_path: Path) -> None:
    source, snap = pg_fixture("chinook"), tmp_path / "snap"
    ok(cli("run", "--source", source, "--rules", str(CHINOOK), "--out", str(snap)))
    ok(cli("load", "--from", str(snap), "--target", pg_url))
    before = checksums(pg_url)
    customer = snap / "tables" / "public.customer.parquet"
    table = pq.read_table(customer)
    emails = table.column("email").to_pylist()
    pq.write_table(table.set_column(table.schema.get_field_index("email"), "email",
                                    pa.array(["changed@example.com", *emails[1:]])), customer)
    result = cli("load", "--from", str(snap), "--target", pg_url)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {customer}: checksum does not match the manifest; the snapshot was changed or damaged; "
        "staging was left as it was"]
    assert checksums(pg_url) == before

    customer.unlink()
    (snap / "tables" / "public.track.parquet").write_bytes(b"not parquet")
    result = cli("load", "--from", str(snap), "--target", pg_url)
    assert result.returncode == 1
    assert f"error: {customer}: listed in the manifest but missing" in result.stderr
    assert "(and 1 more file(s))" in result.stderr and "public.track.parquet: checksum does not match" in result.stderr
    assert checksums(pg_url) == before and leftovers(pg_url) == []


def test_a_database_error_during_the_load_is_exit_3_and_staging_unchanged(cli, pg_fixture, pg_url,
                                                                           tmp_path: Path) -> None:
    source, snap = pg_fixture("chinook"), tmp_path / "snap"
    ok(cli("run", "--source", source, "--rules", str(CHINOOK), "--out", str(snap)))
    ok(cli("load", "--from", str(snap), "--target", pg_url))
    before = checksums(pg_url)
    # a consistent edit (file and manifest checksum): a constraint the sanitized rows break, added after them
    post = snap / "schema" / "post-data.sql"
    post.write_text(post.read_text() + "\nALTER TABLE public.track ADD CONSTRAINT short CHECK (milliseconds < 0);\n")
    manifest_path = snap / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["pg_ddl"]["post_data"]["sha256"] = file_sha256(post)
    manifest_path.write_text(json.dumps(manifest))
    result = cli("load", "--from", str(snap), "--target", pg_url)
    assert result.returncode == 3, result.stderr
    assert "adding constraints, indexes and triggers failed" in result.stderr and "short" in result.stderr
    assert checksums(pg_url) == before and leftovers(pg_url) == []


def test_intervals_travel_exactly_through_a_snapshot(cli, pg_url, pg_server, tmp_path: Path) -> None:
    """PostgreSQL intervals (months and days have no fixed length) go to Parquet as PostgreSQL's text and
    come back equal, with and without the source's DDL."""
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE plans (id int PRIMARY KEY, holder text NOT NULL, term interval)")
        conn.exec_driver_sql("INSERT INTO plans VALUES (1, 'Ann Lee', '1 year 2 mons 3 days 04:05:06.5'), "
                             "(2, 'Bo Chan', '-3 days'), (3, 'Cy Diaz', NULL)")
    engine.dispose()
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\ntables:\n  plans:\n    columns:\n      id: keep\n"
                     "      holder: {strategy: fake, kind: name}\n      term: keep\n")
    expected = rows(pg_url, "SELECT id, term::text FROM plans ORDER BY id")
    for env in ({}, {"SANITIZER_PG_DUMP": str(tmp_path / "no-pg_dump")}):  # the source's DDL, then rebuilt
        snap = tmp_path / f"snap{len(env)}"
        ok(cli("run", "--source", pg_url, "--rules", str(rules), "--out", str(snap), env=env))
        assert bool(json.loads((snap / "manifest.json").read_text()).get("pg_ddl")) == (not env)
        assert pq.read_table(snap / "tables" / "public.plans.parquet").column("term").to_pylist() == \
            ["1 year 2 mons 3 days 04:05:06.5", "-3 days", None]
        loaded = pg_server.new_database("iv")
        ok(cli("load", "--from", str(snap), "--target", loaded))
        assert rows(loaded, "SELECT id, term::text FROM plans ORDER BY id") == expected
        pg_server.drop_database(loaded)
