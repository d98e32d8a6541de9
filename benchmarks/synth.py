"""Rows per second of `synth` for one 10-column table written to Parquet (one core, no database).

    .venv/bin/python benchmarks/synth.py [ROWS]

Target (issue 7): >= 100,000 rows/s end to end (generation, rule strategies, Parquet write). The table has
a serial PK, a UNIQUE e-mail shaped by the `email` strategy, a `fake kind: job` column, a nullable FK to a
small parent, text, an integer with a CHECK range, a decimal, a date, a timestamp and a boolean.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sanitizer.rules import ColumnRule, RuleSet, TableRule, build_strategy
from sanitizer.schema.model import ColumnInfo, ForeignKey, SchemaInfo, TableInfo
from sanitizer.synth import synthesize
from sanitizer.synth._checks import Bound
from sanitizer.synth.hints import ColumnHint, SynthHints

TARGET = 100_000


def schema() -> SchemaInfo:
    def col(name, arrow, type_name, **kw):
        return ColumnInfo(table="public.users", name=name, type_name=type_name, arrow_type=arrow, **kw)

    users = TableInfo("public", "users", (
        col("id", pa.int64(), "BIGINT", nullable=False, unique=True, primary_key=True),
        col("email", pa.string(), "VARCHAR(120)", nullable=False, unique=True, max_length=120),
        col("job", pa.string(), "TEXT"),
        col("team_id", pa.int64(), "INTEGER"),
        col("nickname", pa.string(), "VARCHAR(40)", max_length=40),
        col("age", pa.int64(), "SMALLINT"),
        col("balance", pa.decimal128(12, 2), "NUMERIC(12, 2)", nullable=False),
        col("born", pa.date32(), "DATE"),
        col("created_at", pa.timestamp("us", tz="UTC"), "TIMESTAMP", nullable=False),
        col("active", pa.bool_(), "BOOLEAN", nullable=False),
    ), primary_key=("id",), foreign_keys=(ForeignKey(("team_id",), "public.teams", ("id",)),))
    teams = TableInfo("public", "teams", (ColumnInfo("public.teams", "id", "INTEGER", pa.int64(), nullable=False,
                                                      unique=True, primary_key=True),), primary_key=("id",))
    return SchemaInfo("postgresql", "public", {"public.users": users, "public.teams": teams})


def rules() -> RuleSet:
    columns = {name: ColumnRule(build_strategy(value, f"bench.{name}"), f"bench.{name}") for name, value in {
        "email": {"strategy": "email", "unique": True}, "job": {"strategy": "fake", "kind": "job"}}.items()}
    return RuleSet(tables={"public.users": TableRule(skip=False, columns=columns, origin="bench")})


def main(rows: int) -> float:
    hints = SynthHints(columns={("public.users", "age"): ColumnHint(bound=Bound(low=18, high=99))})
    synthesize(schema(), rules(), {"public.users": 1000, "public.teams": 50}, seed=0, hints=hints)  # warm pools
    start = time.perf_counter()
    result = synthesize(schema(), rules(), {"public.users": rows, "public.teams": 50}, seed=1, hints=hints)
    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(result.tables["public.users"], Path(tmp) / "users.parquet")
    seconds = time.perf_counter() - start
    rate = rows / seconds
    print(f"synth: {rows:,} rows x 10 columns -> Parquet in {seconds:.2f} s = {rate:,.0f} rows/s "
          f"(target {TARGET:,}: {'PASS' if rate >= TARGET else 'FAIL'})")
    return rate


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
