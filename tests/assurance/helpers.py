"""Shared by the assurance tests: read a real database with plain SQL (never through sanitizer)."""

from __future__ import annotations

from dbs import execute
from dbs import query_rows as rows

__all__ = ["execute", "rows"]
