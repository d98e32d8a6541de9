"""--out DIR: a sanitized snapshot as one Parquet file per table plus manifest.json, published atomically."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from ..schema.model import TableInfo
from .target import Target


class ParquetTarget(Target):
    """Writes DIR.sanitizer-tmp/, then swaps it for DIR; the old DIR survives any failure."""

    def __init__(self, directory: Path, report: object) -> None:
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

    def create(self, tables: list[tuple[TableInfo, sa.Table]]) -> None:
        for info, _table in tables:
            schema = pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in info.columns])
            self._tables[info.qualified] = info
            self._writers[info.qualified] = pq.ParquetWriter(self._file(info), schema)
            self.rows_written[info.qualified] = 0

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

    def commit(self) -> None:
        report = self.report
        manifest = {
            "format": "sanitizer-snapshot/1",
            "tool_version": report.tool_version,
            "rules_digest": report.rules_digest,
            "key_fingerprint": report.key_fingerprint,
            "tables": {
                name: {
                    "file": f"tables/{name}.parquet",
                    "rows": self.rows_written[name],
                    "sha256": hashlib.sha256(self._file(info).read_bytes()).hexdigest(),
                    "columns": [{"name": c.name, "type": c.type_name, "nullable": c.nullable}
                                for c in info.columns],
                }
                for name, info in self._tables.items()
            },
        }
        (self.tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        old = self.directory.with_name(self.directory.name + ".sanitizer-old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            self.directory.rename(old)
        self.tmp.rename(self.directory)
        shutil.rmtree(old, ignore_errors=True)
        self._committed = True

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
