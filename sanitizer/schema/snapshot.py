"""Schema snapshots: the source's structure plus non-identifying statistics, as versioned JSON.

A snapshot is what `schema diff` compares against, what `coverage --schema` reviews without a database,
and what `synth` will generate from. It must be safe to hand to anyone, so it holds no row value:

- per table: the row count; per column: the share of NULLs and the number of distinct values;
- min/max only for numbers, dates and timestamps, and never for a column a detector flags as personal
  data (a birth date's range or an age's maximum says something about a person). Text columns get no
  range at all: the smallest customer name is a customer name.

Everything is computed in SQL inside the source's read-only snapshot transaction; no row leaves the database.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from .. import __version__
from ..errors import ConfigError
from ..urls import identity
from .model import ColumnInfo, ForeignKey, SchemaInfo, TableInfo

FORMAT = "sanitizer-schema-snapshot"
VERSION = 1

# The Arrow types reflect.arrow_type_for produces, spelled as str(type) does; read back by arrow_from_text.
_SIMPLE = {"bool": pa.bool_(), "int64": pa.int64(), "double": pa.float64(), "string": pa.string(),
           "large_string": pa.large_string(), "binary": pa.binary(), "date32[day]": pa.date32(),
           "time64[us]": pa.time64("us"), "duration[us]": pa.duration("us")}
_DECIMAL = re.compile(r"decimal128\((\d+), (-?\d+)\)")
_TIMESTAMP = re.compile(r"timestamp\[(s|ms|us|ns)(?:, tz=([^\]]+))?\]")


def arrow_from_text(text: str) -> pa.DataType:
    """The Arrow type written as str(type) in a snapshot; ConfigError for anything else."""
    if text in _SIMPLE:
        return _SIMPLE[text]
    if m := _DECIMAL.fullmatch(text):
        return pa.decimal128(int(m[1]), int(m[2]))
    if m := _TIMESTAMP.fullmatch(text):
        return pa.timestamp(m[1], tz=m[2])
    raise ConfigError(f"schema snapshot: unknown arrow type {text!r}; was the file written by a newer sanitizer?")


def has_range(column: ColumnInfo) -> bool:
    """Numbers, dates and timestamps get min/max; text, booleans, binary and the rest never do."""
    t = column.arrow_type
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_date(t) or pa.types.is_timestamp(t))


def take_snapshot(source, pii: dict[str, str] | None = None) -> dict[str, Any]:
    """The snapshot document of an open `Source`. `pii` maps qualified column -> entity (no range for those)."""
    schema: SchemaInfo = source.schema
    pii = pii or {}
    tables = [table_document(source, info, pii) for info in schema.tables.values()]
    from ..synth.hints import hints_from_source  # schema facts synth needs: enum labels, CHECKs, partitions

    return {
        "format": FORMAT, "version": VERSION, "tool_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": identity(source.url), "dialect": schema.dialect, "default_schema": schema.default_schema,
        "tables": tables,
        "synth_hints": hints_from_source(source).to_dict(),
    }


def table_facts(info: TableInfo) -> dict[str, Any]:
    """A table's structure as JSON (no statistics): shared by schema snapshots and `run --out` manifests,
    read back by schema_from_document."""
    return {
        "name": info.qualified, "schema": info.schema, "table": info.name,
        "primary_key": list(info.primary_key), "unique": [list(u) for u in info.unique_sets],
        "foreign_keys": [{"columns": list(fk.columns), "referred_table": fk.referred_table,
                          "referred_columns": list(fk.referred_columns)} for fk in info.foreign_keys],
        "columns": [{"name": col.name, "type": col.type_name, "arrow_type": str(col.arrow_type),
                     "nullable": col.nullable, "max_length": col.max_length, "unique": col.unique,
                     "primary_key": col.primary_key} for col in info.columns],
    }


def table_document(source, info: TableInfo, pii: dict[str, str]) -> dict[str, Any]:
    stats, rows, problem = table_stats(source, info, pii)
    facts = table_facts(info)
    doc: dict[str, Any] = {"name": facts["name"], "schema": facts["schema"], "table": facts["table"], "rows": rows,
                           **facts}
    if problem:
        doc["stats_error"] = problem
    for col, entry in zip(info.columns, doc["columns"], strict=True):
        if col.name in stats:
            entry["stats"] = stats[col.name]
        if col.qualified in pii and has_range(col):
            entry["range_withheld"] = f"personal data detected ({pii[col.qualified]})"
    return doc


def table_stats(source, info: TableInfo, pii: dict[str, str]) -> tuple[dict[str, dict], int | None, str | None]:
    """One aggregate query per table: count(*), and per column count, count(distinct), min/max where allowed.

    Runs in a savepoint so one odd type (a column PostgreSQL cannot compare) costs that table's statistics,
    not the whole snapshot transaction.
    """
    conn = source.connection
    table = source.sa_table(info)
    exprs: list[sa.ColumnElement] = [sa.func.count()]
    layout: list[tuple[str, str]] = []
    for col, sa_col in zip(info.columns, table.columns, strict=True):
        exprs.append(sa.func.count(sa_col))
        layout.append((col.name, "non_null"))
        if not pa.types.is_binary(col.arrow_type):
            distinct_of = sa.cast(sa_col, sa.Text) if conn.dialect.name == "postgresql" and col.is_text else sa_col
            exprs.append(sa.func.count(sa.distinct(distinct_of)))
            layout.append((col.name, "distinct"))
        if has_range(col) and col.qualified not in pii:
            exprs += [sa.func.min(sa_col), sa.func.max(sa_col)]
            layout += [(col.name, "min"), (col.name, "max")]
    try:
        with conn.begin_nested():
            row = conn.execute(sa.select(*exprs).select_from(table)).one()
    except sa.exc.SQLAlchemyError as exc:
        return {}, None, f"statistics unavailable ({type(getattr(exc, 'orig', None) or exc).__name__})"
    rows = int(row[0])
    stats: dict[str, dict] = {c.name: {} for c in info.columns}
    for (name, key), value in zip(layout, row[1:], strict=True):
        stats[name][key] = _jsonable(value)
    for entry in stats.values():
        non_null = entry.pop("non_null")
        entry["null_fraction"] = round(1 - non_null / rows, 6) if rows else 0.0
    return stats, rows, None


def _jsonable(value: Any) -> Any:
    """Aggregates as JSON: decimals as strings (exact), dates ISO, non-finite floats as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_snapshot(doc: dict[str, Any], path: Path) -> None:
    Path(path).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_snapshot(path: Path) -> dict[str, Any]:
    """The snapshot document, checked for format and version; ConfigError naming the file otherwise."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the schema snapshot ({exc.strerror}); check the path") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not JSON ({exc.msg}); write it with `sanitizer schema snapshot`") \
            from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a schema snapshot (format is not {FORMAT!r}); "
                          "write one with `sanitizer schema snapshot`")
    if doc.get("version") != VERSION:
        raise ConfigError(f"{path}: snapshot version {doc.get('version')!r} is not supported (expected {VERSION}); "
                          "write it again with this sanitizer")
    return doc


def load_schema(path: Path) -> SchemaInfo:
    """Read a snapshot file back into the SchemaInfo the stages use (statistics are left in the file)."""
    doc = read_snapshot(path)
    try:
        return schema_from_document(doc)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: malformed schema snapshot (missing or wrong {exc}); write it again") from None


def schema_from_document(doc: dict[str, Any]) -> SchemaInfo:
    tables: dict[str, TableInfo] = {}
    for t in doc["tables"]:
        columns = tuple(
            ColumnInfo(table=t["name"], name=c["name"], type_name=c["type"],
                       arrow_type=arrow_from_text(c["arrow_type"]), nullable=bool(c["nullable"]),
                       max_length=c.get("max_length"), unique=bool(c["unique"]), primary_key=bool(c["primary_key"]))
            for c in t["columns"]
        )
        fks = tuple(ForeignKey(tuple(fk["columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                    for fk in t.get("foreign_keys", []))
        tables[t["name"]] = TableInfo(schema=t.get("schema"), name=t["table"], columns=columns,
                                      primary_key=tuple(t.get("primary_key", [])),
                                      unique_sets=tuple(tuple(u) for u in t.get("unique", [])), foreign_keys=fks)
    return SchemaInfo(dialect=doc["dialect"], default_schema=doc.get("default_schema"), tables=tables)


def snapshot_command(url: str | None, output: Path, sample: int = 1000) -> str:
    """`schema snapshot`: detect PII on a sample (to withhold those ranges), write the file; one-line summary."""
    from ..detect import best_entity, by_column, scan_source
    from ..source.reader import Source
    from ..urls import parse

    if not url:
        raise ConfigError("schema snapshot: no source; pass --source URL or set SANITIZER_SOURCE_URL")
    with Source(parse(url, what="source")) as source:
        findings = by_column(scan_source(source, sample=sample))
        pii = {q: best.entity for q, fs in findings.items() if (best := best_entity(fs)) is not None}
        doc = take_snapshot(source, pii)
    write_snapshot(doc, output)
    columns = sum(len(t["columns"]) for t in doc["tables"])
    return (f"wrote {output}: {len(doc['tables'])} tables, {columns} columns, statistics without row values "
            f"(ranges withheld for {len(pii)} PII column(s))")
