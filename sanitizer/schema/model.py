"""The schema as the stages see it: small frozen records, independent of any database driver."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True)
class ColumnInfo:
    """One column: what a strategy must know to produce output that fits."""

    table: str  # qualified table name as rules name it ("public.customer" or "customer")
    name: str
    type_name: str  # the database's type, for messages ("VARCHAR(40)")
    arrow_type: pa.DataType
    nullable: bool = True
    max_length: int | None = None
    unique: bool = False  # part of a single-column PK or UNIQUE constraint
    primary_key: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.table}.{self.name}"

    @property
    def is_text(self) -> bool:
        return pa.types.is_string(self.arrow_type) or pa.types.is_large_string(self.arrow_type)


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableInfo:
    schema: str | None
    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...] = ()
    unique_sets: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def column(self, name: str) -> ColumnInfo:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class SchemaInfo:
    dialect: str
    default_schema: str | None
    tables: dict[str, TableInfo] = field(default_factory=dict)  # by qualified name

    def find(self, name: str) -> TableInfo | None:
        """Look a table up as a rules file names it: qualified, or bare for the default schema."""
        if name in self.tables:
            return self.tables[name]
        if self.default_schema and "." not in name:
            return self.tables.get(f"{self.default_schema}.{name}")
        return None
