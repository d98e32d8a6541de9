"""`subset:` and `where:` in a run: read only part of production, and staging still loads with every FK on."""

from __future__ import annotations

from pathlib import Path

from dbs import query_rows as rows

PAGILA_PEOPLE = """
version: 1
defaults: {unknown_columns: keep}
tables:
  customer:
    columns:
      first_name: {strategy: fake, kind: first_name}
      last_name: {strategy: fake, kind: last_name}
      email: {strategy: fake, kind: email, unique: true}
  staff:
    columns:
      first_name: {strategy: fake, kind: first_name}
      last_name: {strategy: fake, kind: last_name}
      email: {strategy: fake, kind: email}
      username: {strategy: hash, length: 12}
      password: {strategy: set, value: "not-a-real-hash"}
      picture: nullify
  address:
    columns:
      address: {strategy: fake, kind: street_address}
      phone: phone
"""




def test_pagila_five_percent_of_customers_is_fk_closed(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    source = pg_fixture("pagila")
    rules = tmp_path / "pagila.yaml"
    rules.write_text(PAGILA_PEOPLE + "subset:\n  start:\n    customer: {percent: 5}\n  follow_children: true\n")
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    customers = rows(pg_url, "select count(*) from customer")[0][0]
    assert 10 <= customers <= 60  # 5% of 599, picked by key
    # every rental and payment of a kept customer came along, and nothing else
    kept = [r[0] for r in rows(pg_url, "select customer_id from customer")]
    ids = ",".join(map(str, kept))
    assert rows(pg_url, "select count(*) from rental") == \
        rows(source, f"select count(*) from rental where customer_id in ({ids})")
    assert rows(pg_url, "select count(*) from payment") == \
        rows(source, f"select count(*) from payment where customer_id in ({ids})")
    # foreign keys were re-added and validated by PostgreSQL: nothing dangles
    assert rows(pg_url, "select count(*) from pg_constraint where contype = 'f' and not convalidated") == [(0,)]
    assert rows(pg_url, "select count(*) from rental r left join inventory i using (inventory_id) "
                        "where i.inventory_id is null") == [(0,)]
    assert rows(pg_url, "select count(*) from film") < rows(source, "select count(*) from film")


def test_where_keeps_matching_rows_only(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    source = pg_fixture("chinook")
    rules = tmp_path / "chinook.yaml"
    text = (Path(__file__).resolve().parents[2] / "rules" / "chinook.yaml").read_text()
    rules.write_text(text.replace("  playlist_track:\n    columns:",
                                  "  playlist_track:\n    where: \"playlist_id = 1\"\n    columns:"))
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    assert rows(pg_url, "select count(*), count(distinct playlist_id) from playlist_track") == \
        rows(source, "select count(*), 1 from playlist_track where playlist_id = 1")
    assert rows(pg_url, "select count(*) from track") == rows(source, "select count(*) from track")


def test_subset_option_on_the_command_line(cli, pg_fixture, pg_url, tmp_path: Path) -> None:
    source = pg_fixture("pagila")
    rules = tmp_path / "pagila.yaml"
    rules.write_text(PAGILA_PEOPLE)
    bad = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules), "--subset", "customer")
    assert bad.returncode == 2 and "--subset 'customer': write TABLE:PERCENT" in bad.stderr
    result = cli("run", "--source", source, "--target", pg_url, "--rules", str(rules),
                 "--subset", "customer:customer_id <= 20", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    kept = {r[0] for r in rows(pg_url, "select customer_id from customer")}
    assert set(range(1, 21)) <= kept and len(kept) < 40  # the 20 chosen, plus any a kept row references
    assert rows(pg_url, "select count(*) from pg_constraint where contype = 'f' and not convalidated") == [(0,)]
