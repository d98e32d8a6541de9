"""Scan columns for personal data: a random sample per table, every detector over every column.

`scan_column` works on values already in memory (Arrow); `scan_source` draws the sample itself with a
read-only SELECT on the source's snapshot connection, at random rather than the first rows (which are often
the oldest, the test accounts, or one tenant).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import sqlalchemy as sa

from ..errors import SourceError
from ..schema.model import ColumnInfo, TableInfo
from .base import ColumnFinding
from .registry import Registry, detectors
from .sample import Sample

# Below this many rows a full random sort is cheap; above it PostgreSQL pre-thins with TABLESAMPLE.
TABLESAMPLE_ABOVE = 100_000
SAMPLE_SEED = 42  # random rows, but the same ones each time: reports and suggestions are reproducible


def scan_column(column: ColumnInfo, values: pa.Array | pa.ChunkedArray,
                registry: Registry | None = None) -> list[ColumnFinding]:
    """Every entity the column's name and sampled values point to, most confident first."""
    sample = Sample(values)
    findings = []
    for detector in registry or detectors():
        finding = detector.assess(column, sample)
        if finding is not None:
            findings.append(finding)
    return sorted(findings, key=lambda f: -f.confidence)


def scan_table(info: TableInfo, batch: pa.RecordBatch | pa.Table,
               registry: Registry | None = None) -> list[ColumnFinding]:
    findings: list[ColumnFinding] = []
    for column in info.columns:
        findings.extend(scan_column(column, batch.column(column.name), registry))
    return findings


def scan_source(source, sample: int = 1000, registry: Registry | None = None,
                tables: Iterable[str] | None = None) -> list[ColumnFinding]:
    """Sample up to `sample` random rows of every table (or of `tables`) and scan each column.

    `source` is an open `sanitizer.source.Source` (its snapshot connection and reflected schema).
    """
    if sample < 1:
        raise ValueError("sample must be at least 1 row")
    schema = source.schema
    wanted = set(tables) if tables is not None else None
    findings: list[ColumnFinding] = []
    for name, info in schema.tables.items():
        if wanted is not None and name not in wanted and info.name not in wanted:
            continue
        findings.extend(scan_table(info, sample_table(source, info, sample), registry))
    return findings


def sample_table(source, info: TableInfo, rows: int) -> pa.Table:
    """Up to `rows` rows chosen at random — with a fixed seed where the database takes one (PostgreSQL,
    MySQL), so the same data gives the same scan, report and suggested rules — typed like the columns."""
    table = source.sa_table(info)
    conn = source.connection
    dialect = conn.dialect.name
    query = sa.select(*(table.c[c.name] for c in info.columns))
    if dialect == "postgresql":
        estimate = conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                                {"t": _regclass(info)}).scalar()
        if estimate and estimate > max(TABLESAMPLE_ABOVE, rows * 20):
            percent = min(100.0, 100.0 * rows * 5 / float(estimate))
            sampled = sa.tablesample(table, sa.func.bernoulli(percent), seed=sa.literal_column(str(SAMPLE_SEED)))
            query = sa.select(*(sampled.c[c.name] for c in info.columns))
        conn.execute(sa.text("SELECT setseed(:s)"), {"s": SAMPLE_SEED / 1000})
        query = query.order_by(sa.func.random())
    elif dialect in ("mysql", "mariadb"):
        query = query.order_by(sa.func.rand(SAMPLE_SEED))
    else:  # SQLite and anything else that spells it random() (not seedable there)
        query = query.order_by(sa.func.random())
    try:
        result = conn.execute(query.limit(rows)).fetchall()
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"{info.qualified}: sampling for the scan failed ({type(exc).__name__}); "
                          "check the source user may SELECT it") from None
    columns = list(zip(*result, strict=True)) if result else [() for _ in info.columns]
    arrays = [_to_arrow(col, list(values)) for col, values in zip(info.columns, columns, strict=True)]
    return pa.Table.from_arrays(arrays, names=[c.name for c in info.columns])


def _regclass(info: TableInfo) -> str:
    quoted = '"' + info.name.replace('"', '""') + '"'
    return f'"{info.schema}".{quoted}' if info.schema else quoted


def _to_arrow(column: ColumnInfo, values: list) -> pa.Array:
    """Values as the column's Arrow type; anything the driver hands over oddly (arrays, enums) as text."""
    try:
        return pa.array(values, type=column.arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        pass
    if column.is_text:
        return pa.array([None if v is None else v.decode(errors="replace") if isinstance(v, bytes) else str(v)
                         for v in values], type=pa.string())
    return pa.nulls(len(values), type=column.arrow_type)
