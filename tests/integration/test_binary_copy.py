"""PostgreSQL to PostgreSQL in the binary COPY format: staging holds exactly the source's values, for
every type that may travel so; every other table goes as text (CSV) and arrives just as exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from sanitizer.keys import Keyring
from sanitizer.pipeline import RunOptions, new_report, run
from sanitizer.rules import load_rules
from sanitizer.source import pg_copy, reader
from sanitizer.urls import parse

pytestmark = pytest.mark.skipif(not pg_copy.binary_copy_available() or pg_copy.find_psql() is None,
                                reason="needs the _pgcopy kernel and psql")

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE everything (
  id bigint PRIMARY KEY, small smallint, whole integer, ratio real, precise double precision,
  price numeric(12, 3), flag boolean, born date, seen timestamp, seen_tz timestamptz, span interval,
  blob bytea, tags text[], scores integer[], address inet, feeling mood, code char(6), label varchar(40),
  notes text, document json, name text NOT NULL, email text UNIQUE);
INSERT INTO everything
SELECT i, (i % 30000)::smallint, i * 7, i / 3.0, i / 7.0, i * 1.125, i % 2 = 0, date '1970-01-01' + i,
  timestamp '2000-01-01 00:00:00.123456' + i * interval '1 hour',
  timestamptz '2020-02-29 12:00+05:30' + i * interval '1 min',
  i * interval '1 day 2 hours', decode(md5(i::text), 'hex'), ARRAY['a' || i, NULL, 'b'], ARRAY[i, -i],
  ('10.0.' || (i % 250) || '.1')::inet, (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood, lpad(i::text, 6, '0'),
  'label ' || i, CASE WHEN i % 5 = 0 THEN NULL ELSE E'line "one"\\nline, two ' || i END,
  json_build_object('k', i), 'Person ' || i, 'person' || i || '@example.org'
FROM generate_series(1, 3000) AS i;
CREATE TABLE plain (id bigint PRIMARY KEY, price numeric(12, 3), born date, seen_tz timestamptz, feeling mood,
  note text, email text UNIQUE);
INSERT INTO plain SELECT i, i * 1.5, date '2001-01-01' + i, timestamptz '2020-01-01' + i * interval '1 s',
  (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood, CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || i END,
  'p' || i || '@example.org'
FROM generate_series(1, 3000) AS i;
CREATE TABLE catalogued (id integer PRIMARY KEY, rel regclass, amount positive, name text);
INSERT INTO catalogued VALUES (1, 'plain', 5, 'Ann Smith'), (2, 'everything', 7, 'Bob Jones');
"""

MASKED = {"name": {"strategy": "fake", "kind": "name"}, "email": {"strategy": "email"}}
EVERYTHING_KEPT = ["id", "small", "whole", "ratio", "precise", "price", "flag", "born", "seen", "seen_tz", "span",
                   "blob", "tags", "scores", "address", "feeling", "code", "label", "notes", "document"]
OPAQUE_KEPT = ["id", "small", "whole", "ratio", "precise", "price", "flag", "born", "seen", "seen_tz", "blob",
               "label"]


def rules_for(tables: dict[str, tuple[list[str], dict[str, dict]]]) -> str:
    """A rules file: per table, the columns kept and the masked ones with their rules."""
    return yaml.safe_dump({"version": 1, "tables": {
        table: {"columns": {**dict.fromkeys(kept, "keep"), **masked}} for table, (kept, masked) in tables.items()}})


TABLES = {
    "everything": (EVERYTHING_KEPT, MASKED),
    "plain": (["id", "price", "born", "seen_tz", "feeling", "note"], {"email": MASKED["email"]}),
    "catalogued": (["id", "rel", "amount"], {"name": MASKED["name"]}),
}
RULES = rules_for(TABLES)


def rows(url: str, table: str, columns: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.exec_driver_sql(f"SELECT {columns} FROM {table} ORDER BY id").all()
    engine.dispose()
    return [tuple(r) for r in found]


@pytest.fixture()
def source(pg_server) -> str:
    url = pg_server.new_database("bin_src")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.connection.driver_connection.execute(SCHEMA)
    engine.dispose()
    return url


def refresh(source: str, target: str, rules_text: str, tmp_path: Path, monkeypatch) -> dict[str, str]:
    """Run source -> target; returns how each table was read: 'binary' or 'text'."""
    how: dict[str, str] = {}
    real_binary, real_text = reader.psql_copy_binary_batches, reader.psql_copy_batches
    monkeypatch.setattr(reader, "psql_copy_binary_batches", lambda psql, url, snapshot, info, text, **kw: (
        how.__setitem__(info.name, "binary") or real_binary(psql, url, snapshot, info, text, **kw)))
    monkeypatch.setattr(reader, "psql_copy_batches", lambda psql, url, snapshot, info, **kw: (
        how.__setitem__(info.name, "text") or real_text(psql, url, snapshot, info, **kw)))
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text)
    options = RunOptions(source=parse(source, what="source"), target=parse(target, what="target"),
                         rules=load_rules([rules]), keyring=Keyring("binary-copy-key-0123"), jobs=1)
    run(options, new_report(options, {}))
    return how


KEPT = ("id, small, whole, ratio, precise, price, flag, born, seen, seen_tz, span, blob, tags, scores, "
        "address::text, feeling::text, code, label, notes, document::text")


def test_kept_columns_of_every_type_arrive_exactly(source, pg_server, tmp_path, monkeypatch) -> None:
    target = pg_server.new_database("bin_dst")
    how = refresh(source, target, RULES, tmp_path, monkeypatch)
    # text, varchar, char(n), json and enums are their UTF-8 text in binary form; the rest pass unread.
    # everything has interval, arrays and inet, which Arrow holds as text: the checks read them, so text.
    assert how == {"everything": "text", "plain": "binary", "catalogued": "text"}
    for table, kept in (("everything", KEPT), ("plain", "id, price, born, seen_tz, feeling::text, note"),
                        ("catalogued", "id, rel::text, amount")):
        assert rows(target, table, kept) == rows(source, table, kept)
    for table, masked in (("plain", "email"), ("everything", "name, email")):
        before, after = rows(source, table, masked), rows(target, table, masked)
        assert len(after) == len(before) and not set(after) & set(before)


def test_a_table_of_opaque_kinds_goes_binary_and_arrives_exactly(source, pg_server, tmp_path, monkeypatch) -> None:
    """Only columns that no check reads as text: numbers, times, bytea, booleans stay opaque bytes."""
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE opaque AS SELECT id, small, whole, ratio, precise, price, flag, born, "
                             "seen, seen_tz, blob, label, name, email FROM everything")
        conn.exec_driver_sql("ALTER TABLE opaque ADD PRIMARY KEY (id)")
    engine.dispose()
    rules = rules_for({**TABLES, "opaque": (OPAQUE_KEPT, MASKED)})
    target = pg_server.new_database("bin_dst")
    how = refresh(source, target, rules, tmp_path, monkeypatch)
    assert how["opaque"] == "binary"
    kept = ", ".join(OPAQUE_KEPT)
    assert rows(target, "opaque", kept) == rows(source, "opaque", kept)
    assert not set(rows(target, "opaque", "email")) & set(rows(source, "opaque", "email"))


def test_a_strategy_reading_a_number_sends_the_table_as_text(source, pg_server, tmp_path, monkeypatch) -> None:
    """A column a strategy decodes must be text on the way in: binary numbers are not decoded here."""
    noisy_price = {"email": MASKED["email"], "price": {"strategy": "noise", "relative": 0.1}}
    rules = rules_for({**TABLES, "plain": (["id", "born", "seen_tz", "feeling", "note"], noisy_price)})
    target = pg_server.new_database("bin_dst")
    how = refresh(source, target, rules, tmp_path, monkeypatch)
    assert how["plain"] == "text"
    kept = "id, born, seen_tz, feeling::text, note"
    assert rows(target, "plain", kept) == rows(source, "plain", kept)
