"""--out DIR: a sanitized snapshot as one Parquet file per table plus manifest.json, published atomically.

The directory is self-sufficient for `sanitizer load --from DIR` (load/from_snapshot.py): next to the
sanitized rows the manifest holds everything needed to recreate staging without the source — the tables'
structure (schema.snapshot.table_facts), an FK-safe load order, the source's sequence values and, from a
PostgreSQL source with pg_dump at hand, the source's own DDL (schema/pre-data.sql, schema/post-data.sql).
Every file is listed with its SHA-256. Nothing else is written: no raw row ever, only sanitized Parquet.
docs/snapshots.md describes the format.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from ..schema.model import SchemaInfo, TableInfo
from ..schema.pgddl import SchemaDDL
from ..schema.snapshot import table_facts
from ..source.reader import PG_DDL, Source
from .target import NEXTVAL, Target

FORMAT = "sanitizer-snapshot/2"
FORMAT_V1 = "sanitizer-snapshot/1"  # rows and checksums only: `validate --from` reads it, `load` cannot
READABLE_FORMATS = (FORMAT, FORMAT_V1)
MANIFEST = "manifest.json"
PRE_DATA, POST_DATA = "schema/pre-data.sql", "schema/post-data.sql"
IDENT_PART = re.compile(r'"((?:[^"]|"")+)"|([^."]+)')


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks (a table file may be larger than memory)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def fk_safe_order(schema: SchemaInfo) -> list[str]:
    """Referenced tables before the tables that reference them (cycles opened where they must be)."""
    from ..synth._graph import edges, load_order  # the FK graph synth and subset already walk

    return list(load_order(schema.tables, edges(schema)).tables)


def sequence_key(name: str) -> str:
    """A sequence as nextval() names it ('"public".customer_id_seq', 'customer_id_seq') -> the key the
    source's sequence values are recorded under ("public.customer_id_seq", or bare for the default schema)."""
    parts = [quoted.replace('""', '"') if quoted else bare for quoted, bare in IDENT_PART.findall(name)]
    return ".".join(parts) if parts else name


def plain_indexes(table: sa.Table, info: TableInfo) -> list[dict[str, Any]]:
    """The table's non-unique indexes on plain columns (UNIQUE ones are in the table's facts already);
    expression and partial indexes need the source's DDL."""
    found = []
    for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
        columns = [e.name for e in index.expressions if isinstance(e, sa.Column)]
        if (not index.unique and index.name and columns and len(columns) == len(index.expressions)
                and not any(index.dialect_options[d].get("where") for d in ("postgresql", "sqlite"))
                and set(columns) <= set(info.column_names)):
            found.append({"name": str(index.name), "columns": columns})
    return found


class ParquetTarget(Target):
    """Writes DIR.sanitizer-tmp/, then swaps it for DIR; the old DIR survives any failure."""

    def __init__(self, directory: Path, report: Any) -> None:
        self.directory = Path(directory).resolve()
        self.report = report
        self.rows_written = {}
        self._committed = False

    def open(self) -> None:
        self.tmp = self.directory.with_name(self.directory.name + ".sanitizer-tmp")
        shutil.rmtree(self.tmp, ignore_errors=True)
        (self.tmp / "tables").mkdir(parents=True)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._tables: dict[str, TableInfo] = {}
        self._serials: dict[str, dict[str, str]] = {}
        self._indexes: dict[str, list[dict[str, Any]]] = {}
        self._sequences: dict[str, tuple[int, bool]] = {}
        self._ddl: SchemaDDL | None = None
        self._dialect = str(self.report.source.get("dialect", "")) if isinstance(self.report.source, dict) else ""
        self._default_schema: str | None = None

    def create(self, tables: list[tuple[TableInfo, sa.Table]], ddl: SchemaDDL | None = None) -> None:
        """Open one Parquet writer per table; keep the structure, serial defaults and the source's DDL."""
        provider = tables[0][1].metadata.info.get(PG_DDL) if tables else None
        if ddl is None and provider is not None:
            ddl = provider()  # pg_dump, in the snapshot the rows come from
        self._ddl = ddl
        # a PostgreSQL Source offers its DDL as a bound method; its SchemaInfo names the default schema
        owner = getattr(provider, "__self__", None)
        if isinstance(owner, Source) and owner.schema is not None:
            self._dialect, self._default_schema = owner.schema.dialect, owner.schema.default_schema
        for info, table in tables:
            schema = pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in info.columns])
            self._tables[info.qualified] = info
            self._writers[info.qualified] = pq.ParquetWriter(self._file(info), schema)
            self.rows_written[info.qualified] = 0
            serial = {c.name: sequence_key(m.group("name")) for c in table.columns
                      if c.server_default is not None and c.name in info.column_names
                      and (m := NEXTVAL.search(str(getattr(c.server_default, "arg", ""))))}
            if serial:
                self._serials[info.qualified] = serial
            if indexes := plain_indexes(table, info):
                self._indexes[info.qualified] = indexes

    def _file(self, info: TableInfo) -> Path:
        return self.tmp / "tables" / f"{info.qualified}.parquet"

    def write(self, info: TableInfo, batch: pa.RecordBatch) -> None:
        writer = self._writers[info.qualified]
        writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=writer.schema))
        self._count(info, batch.num_rows)

    def finalize(self, sequences: dict[str, tuple[int, bool]]) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
        self._sequences = dict(sequences)

    def commit(self) -> None:
        (self.tmp / MANIFEST).write_text(json.dumps(self.manifest(), indent=2) + "\n", encoding="utf-8")
        old = self.directory.with_name(self.directory.name + ".sanitizer-old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            self.directory.rename(old)
        self.tmp.rename(self.directory)
        shutil.rmtree(old, ignore_errors=True)
        self._committed = True

    def manifest(self) -> dict[str, Any]:
        """The manifest (format sanitizer-snapshot/2); writes the DDL files it lists."""
        report = self.report
        schema = SchemaInfo(self._dialect, self._default_schema, dict(self._tables))
        tables = {}
        for name, info in self._tables.items():
            entry: dict[str, Any] = {"file": f"tables/{name}.parquet", "rows": self.rows_written[name],
                                     "sha256": file_sha256(self._file(info))}
            if name in self._serials:
                entry["serial_columns"] = self._serials[name]
            if name in self._indexes:
                entry["indexes"] = self._indexes[name]
            tables[name] = entry
        return {
            "format": FORMAT,
            "tool_version": report.tool_version,
            "created_at": report.started_at or None,
            "source": report.source,
            "rules_digest": report.rules_digest,
            "key_fingerprint": report.key_fingerprint,
            "schema": {"dialect": schema.dialect, "default_schema": schema.default_schema,
                       "tables": [table_facts(info) for info in self._tables.values()]},
            "load_order": fk_safe_order(schema),
            "sequences": {name: [value, called] for name, (value, called) in sorted(self._sequences.items())},
            "pg_ddl": self._write_ddl(),
            "tables": tables,
        }

    def _write_ddl(self) -> dict[str, Any] | None:
        """The source's pg_dump DDL as two SQL files (schema only, no rows), or None when there is none."""
        if self._ddl is None:
            return None
        files = {}
        for key, relative, text in (("pre_data", PRE_DATA, self._ddl.pre_data),
                                    ("post_data", POST_DATA, self._ddl.post_data)):
            path = self.tmp / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            files[key] = {"file": relative, "sha256": file_sha256(path)}
        return {"schemas": list(self._ddl.schemas), **files,
                "populated_matviews": list(self._ddl.populated_matviews),
                "extensions": [list(pair) for pair in self._ddl.extensions]}

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
