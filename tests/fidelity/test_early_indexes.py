"""A table's own keys and indexes are built as soon as its rows are in; everything else, and anything
that fails early, runs at the end in pg_dump's order, exactly as before."""

from __future__ import annotations

import sqlalchemy as sa

from sanitizer.load import pg_rebuild
from sanitizer.schema.pgddl import dump_schema


def pagila_post_data(pg_fixture) -> tuple[str, set[str], str]:
    url = pg_fixture("pagila")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ddl = dump_schema(conn, sa.engine.make_url(url), ["public"], None)
        plain = pg_rebuild.plain_tables(conn, ["public"])
    engine.dispose()
    assert ddl is not None
    return ddl.post_data, plain, url


def test_only_plain_tables_own_keys_and_indexes_are_tied_to_their_table(pg_fixture) -> None:
    script, plain, _ = pagila_post_data(pg_fixture)
    post = pg_rebuild.PostData.parse(script, plain)
    assert post.preamble + "".join(text for _, text in post.entries) == script  # nothing lost or reordered
    tied = [(table, text) for table, text in post.entries if table is not None]
    assert {table for table, _ in tied} >= {"public.customer", "public.film", "public.rental"}
    for table, text in tied:
        assert f" {table}" in text and ("ADD CONSTRAINT" in text or "CREATE " in text)
        assert "FOREIGN KEY" not in text and "TRIGGER" not in text
    untied = "".join(text for table, text in post.entries if table is None)
    assert "FOREIGN KEY" in untied and "CREATE TRIGGER" in untied
    # payment is partitioned in Pagila: its keys and its partitions' wait for the end (ATTACH order)
    assert "public.payment" not in plain and not any(t.startswith("public.payment") for t, _ in tied)
    assert post.early_analyze and "public.payment" in post.waiting and "public.customer" not in post.waiting
    post.done.update(i for i, (table, _) in enumerate(post.entries) if table is not None)
    assert post.rest() == post.preamble + untied


def test_an_index_that_fails_early_runs_again_at_the_end(pg_server) -> None:
    url = pg_server.new_database("early")
    engine = sa.create_engine(url)
    script = ("SET statement_timeout = 0;\n\n"
              "--\n-- Name: t t_v_key; Type: CONSTRAINT; Schema: public; Owner: -\n--\n\n"
              "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_v_key UNIQUE (v);\n\n\n"
              "--\n-- Name: t_w; Type: INDEX; Schema: public; Owner: -\n--\n\n"
              "CREATE INDEX t_w ON public.t USING btree (w);\n\n\n")
    with engine.connect() as conn:
        conn.begin()
        conn.exec_driver_sql("CREATE TABLE t (v int, w int)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 1), (1, 2)")  # v repeats: its UNIQUE key fails
        post = pg_rebuild.PostData.parse(script, pg_rebuild.plain_tables(conn, ["public"]))
        assert [table for table, _ in post.entries] == ["public.t", "public.t"]
        post.table_done(conn, "public.t")
        assert post.done == set() and post.rest() == script  # both wait for the end, in order
        assert post.analyzed == set()
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2  # the transaction goes on
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_indexes WHERE tablename = 't'").scalar() == 0
        conn.exec_driver_sql("DELETE FROM t WHERE w = 2")
        post.waiting.clear()
        post.table_done(conn, "public.t")
        assert post.done == {0, 1} and post.rest() == "SET statement_timeout = 0;\n\n"
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_indexes WHERE tablename = 't'").scalar() == 2
        assert "public.t" in post.analyzed
        conn.rollback()
    engine.dispose()
    pg_server.drop_database(url)
