"""Shared by the assurance tests: read a real database with plain SQL (never through sanitizer)."""

from __future__ import annotations

import sqlalchemy as sa
from dbs import query_rows as rows

__all__ = ["execute", "rows"]


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for stmt in statements:
                conn.exec_driver_sql(stmt)
    finally:
        engine.dispose()
