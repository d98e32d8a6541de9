"""pg_dump's post-data runs in two parts: keys and indexes with the target's memory (parallel builds), then
foreign keys and the rest with a cache-sized check memory; together they are the script, in its order."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from sanitizer.load import pg_rebuild
from sanitizer.schema.pgddl import SchemaDDL, dump_schema

SCRIPT = ("SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n"
          "--\n-- Name: parent parent_pkey; Type: CONSTRAINT; Schema: public; Owner: -\n--\n\n"
          "ALTER TABLE ONLY public.parent\n    ADD CONSTRAINT parent_pkey PRIMARY KEY (id);\n\n\n"
          "--\n-- Name: child child_parent_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -\n--\n\n"
          "ALTER TABLE ONLY public.child\n    ADD CONSTRAINT child_parent_fkey FOREIGN KEY (parent) "
          "REFERENCES public.parent(id);\n\n\n")


def test_pagila_post_data_splits_before_its_first_foreign_key(pg_fixture) -> None:
    url = pg_fixture("pagila")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ddl = dump_schema(conn, sa.engine.make_url(url), ["public"], None)
    engine.dispose()
    assert ddl is not None
    first, rest = pg_rebuild.split_at_foreign_keys(ddl.post_data)
    preamble = ddl.post_data[:ddl.post_data.index("--\n-- Name: ")]
    assert "SET " in preamble and rest.startswith(preamble)
    assert first + rest[len(preamble):] == ddl.post_data
    after = rest[len(preamble):]
    assert "FOREIGN KEY" not in first and "; Type: FK CONSTRAINT; " in after.split("\n", 2)[1]
    assert "PRIMARY KEY" in first and "CREATE INDEX" in first
    assert pg_rebuild.split_at_foreign_keys("SET x = 1;\n") == ("SET x = 1;\n", "SET x = 1;\n")


def build(url: str, violating: bool) -> tuple[sa.Engine, sa.Connection]:
    engine = sa.create_engine(url)
    conn = engine.connect()
    conn.begin()
    conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    conn.exec_driver_sql("CREATE TABLE parent (id int); CREATE TABLE child (parent int)")
    conn.exec_driver_sql("INSERT INTO parent SELECT generate_series(1, 1000)")
    conn.exec_driver_sql(f"INSERT INTO child SELECT generate_series(1, {1001 if violating else 1000})")
    return engine, conn


def test_foreign_keys_are_checked_with_the_check_memory_and_the_setting_comes_back(pg_server, monkeypatch) -> None:
    url = pg_server.new_database("post")
    engine, conn = build(url, violating=False)
    seen = []
    real = pg_rebuild.run_script

    def spy(connection, script):
        seen.append((connection.exec_driver_sql("SHOW maintenance_work_mem").scalar(), "FOREIGN KEY" in script))
        real(connection, script)

    monkeypatch.setattr(pg_rebuild, "run_script", spy)  # records each part's memory, then runs it for real
    pg_rebuild.finish(conn, SchemaDDL(schemas=["public"], pre_data="", post_data=SCRIPT), {})
    assert seen == [("256MB", False), (pg_rebuild.FOREIGN_KEY_CHECK_MEMORY, True)]
    assert conn.exec_driver_sql("SHOW maintenance_work_mem").scalar() == "256MB"
    assert conn.exec_driver_sql("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").scalar() == 1
    conn.rollback()
    conn.close()
    engine.dispose()


def test_a_violated_foreign_key_is_the_error_reported(pg_server) -> None:
    url = pg_server.new_database("post")
    engine, conn = build(url, violating=True)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        pg_rebuild.finish(conn, SchemaDDL(schemas=["public"], pre_data="", post_data=SCRIPT), {})
    conn.rollback()
    conn.close()
    engine.dispose()
