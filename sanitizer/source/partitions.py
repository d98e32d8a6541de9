"""Partitioned tables: rules and rows go by the partitioned parent, never by its partitions.

A partition is an implementation detail of its parent (how rows are stored, not what they mean): one
rule for `payment` must cover every month's partition, including ones added next month. So reflection
leaves partitions out (see schema/reflect.py), the parent's rows are read leaf by leaf, each with the
`FROM ONLY` COPY that every table uses, and the target writes them into the parent, which routes each
row to the partition its key belongs to. Reading parent and leaves both would copy rows twice; reading
only `FROM ONLY parent` would copy none.

Inheritance children (pre-10 partitioning, e.g. Sakila's payment_p2007_*) are ordinary tables with
rows of their own, read and written each `FROM ONLY` itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pyarrow as pa
import sqlalchemy as sa

from ..schema.model import TableInfo


def partitioned_leaves(conn: sa.Connection) -> dict[str, list[tuple[str, str]]]:
    """Qualified partitioned parent -> its leaf partitions (schema, name), at any depth."""
    rows = conn.execute(sa.text(
        "SELECT pn.nspname, p.relname, ln.nspname, l.relname "
        "FROM pg_class p JOIN pg_namespace pn ON pn.oid = p.relnamespace "
        "CROSS JOIN LATERAL pg_partition_tree(p.oid) t "
        "JOIN pg_class l ON l.oid = t.relid JOIN pg_namespace ln ON ln.oid = l.relnamespace "
        "WHERE p.relkind = 'p' AND NOT p.relispartition AND t.isleaf AND l.relkind <> 'f' "
        "ORDER BY 1, 2, 3, 4")).all()
    leaves: dict[str, list[tuple[str, str]]] = {}
    for schema, name, leaf_schema, leaf in rows:
        leaves.setdefault(f"{schema}.{name}", []).append((leaf_schema, leaf))
    return leaves


def leaf_batches(raw_connection, info: TableInfo, leaves: list[tuple[str, str]],
                 copy: Callable[..., Iterator[pa.RecordBatch]]) -> Iterator[pa.RecordBatch]:
    """The parent's rows, leaf after leaf, as batches with the parent's columns (by name)."""
    for schema, name in leaves:
        yield from copy(raw_connection, dataclasses.replace(info, schema=schema, name=name))
