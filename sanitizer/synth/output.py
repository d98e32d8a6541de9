"""Where a synthetic dataset goes: Parquet or CSV files (published atomically), or a staging database.

Files: one per table plus manifest.json (load order, row counts, notes), written to DIR.sanitizer-tmp and
renamed over DIR, as `run --out` does. CSV holds PostgreSQL's text forms (the wire encoding), so each
file loads with COPY ... (FORMAT csv, HEADER) in the manifest's order. A database goes through the same
Target as `run`: one transaction, the source's DDL where the source is PostgreSQL, atomic swap.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv
import pyarrow.parquet as pq

from ..load.target import NEXTVAL, open_target
from ..schema.model import SchemaInfo
from ..schema.wire import encode
from .generate import SynthResult

Format = Literal["parquet", "csv"]


def write_files(result: SynthResult, schema: SchemaInfo, directory: Path, fmt: Format, seed: int) -> Path:
    directory = Path(directory).resolve()
    tmp = directory.with_name(directory.name + ".sanitizer-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {}
    for name, table in result.tables.items():
        path = tmp / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            info = schema.tables[name]
            text = pa.table([encode(table.column(c.name).combine_chunks(), c) for c in info.columns],
                            names=[c.name for c in info.columns])
            csv.write_csv(text, path, csv.WriteOptions(quoting_style="all_valid"))
        files[name] = {"file": path.name, "rows": table.num_rows}
    manifest = {"format": "sanitizer-synth/1", "seed": seed, "load_order": list(result.tables), "tables": files,
                "notes": result.notes}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    old = directory.with_name(directory.name + ".sanitizer-old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    return directory


def write_target(result: SynthResult, source, url) -> dict[str, int]:
    """Load into staging through `run`'s Target (DDL from the open `source`), sequences past the data."""
    schema = source.schema
    pairs = [(schema.tables[name], source.sa_table(schema.tables[name])) for name in result.tables]
    with open_target(url) as target:
        target.create(pairs)
        for info, _ in pairs:
            for batch in result.tables[info.qualified].to_batches(max_chunksize=50_000):
                target.write(info, batch)
        target.finalize(_sequences(result, pairs))
        target.commit()
        return dict(target.rows_written)


def _sequences(result: SynthResult, pairs) -> dict[str, tuple[int, bool]]:
    """schema.sequence -> (max generated value, is_called) for serial columns, so inserts go on after."""
    out: dict[str, tuple[int, bool]] = {}
    for info, table in pairs:
        data = result.tables[info.qualified]
        for column in table.columns:
            default = column.server_default
            match = NEXTVAL.search(str(getattr(default, "arg", ""))) if default is not None else None
            if match and column.name in data.column_names and data.num_rows:
                top = pc.max(data.column(column.name)).as_py()
                raw = match.group("name").replace('"', "")
                qualified = raw if "." in raw else f"{table.schema or 'public'}.{raw}"  # as pg_sequences has it
                if isinstance(top, int):
                    for name in {raw, qualified}:  # both, as pipeline.source_sequences offers them
                        out[name] = max(out.get(name, (top, True))[0], top), True
    return out
