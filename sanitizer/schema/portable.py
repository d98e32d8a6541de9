"""Carry a table definition from one database kind to another (MySQL/SQLite -> PostgreSQL and back).

Same-kind copies keep every dialect type. Across kinds each column becomes SQLAlchemy's generic
equivalent (`TypeEngine.as_generic()`), collations and charsets are dropped (they name the source's
catalogue), MySQL's unsigned and display widths disappear, TINYINT(1) becomes BOOLEAN, and server
defaults that are dialect SQL are dropped. The mapping is documented in docs/types.md.
"""

from __future__ import annotations

import sqlalchemy as sa

PORTABLE_DEFAULTS = {"CURRENT_TIMESTAMP", "NULL", "TRUE", "FALSE"}


def portable_type(type_: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """The generic type for a dialect-specific one; text without collation; JSON stays JSON."""
    if isinstance(type_, sa.JSON):
        return sa.JSON()
    if type(type_).__name__ == "TINYINT" and getattr(type_, "display_width", None) == 1:
        return sa.Boolean()
    if isinstance(type_, sa.Time) and getattr(type_, "timezone", False):
        return sa.Text()  # a time with an offset: PostgreSQL's text (no other database has the type)
    if isinstance(type_, sa.Enum):
        return sa.String(max((len(e) for e in type_.enums), default=1))
    try:
        generic = type_.as_generic()
    except NotImplementedError:
        return sa.Text()
    if isinstance(generic, sa.String):
        if isinstance(generic, sa.Text) or generic.length is None:
            return sa.Text()
        return sa.String(generic.length)
    if isinstance(generic, sa.DateTime):
        return sa.DateTime(timezone=bool(getattr(generic, "timezone", False)))
    if isinstance(generic, sa.LargeBinary):
        return sa.LargeBinary()
    return generic


def portable_tables(tables: list[sa.Table], target_dialect: str) -> list[sa.Table]:
    """Copies of `tables` whose types and defaults the target dialect understands."""
    metadata = sa.MetaData()
    if target_dialect == "sqlite":  # one namespace: schema names go
        copies = [t.to_metadata(metadata, schema=None,
                                 referred_schema_fn=lambda *_: sa.schema.BLANK_SCHEMA) for t in tables]
    else:
        copies = [t.to_metadata(metadata) for t in tables]
    for table in copies:
        for column in table.columns:
            column.type = portable_type(column.type)
            default = column.server_default
            text = str(getattr(getattr(default, "arg", None), "text", getattr(default, "arg", ""))).strip("'\" ")
            if default is not None and text.upper() not in PORTABLE_DEFAULTS and not _literal(text):
                column.server_default = None
            column.autoincrement = False if target_dialect == "postgresql" else column.autoincrement
        for index in list(table.indexes):
            index.dialect_kwargs.clear()
        table.dialect_kwargs.clear()
    return copies


def _literal(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
