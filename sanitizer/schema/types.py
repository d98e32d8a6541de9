"""Database column types to Arrow types, and the codecs that carry values across."""

from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa

MAX_DECIMAL_PRECISION = 38


def arrow_type_for(type_: sa.types.TypeEngine) -> pa.DataType:
    """The Arrow type that holds this column's values exactly; text when nothing else does."""
    if isinstance(type_, sa.Boolean):
        return pa.bool_()
    if isinstance(type_, sa.SmallInteger | sa.Integer | sa.BigInteger):
        return pa.int64()
    if isinstance(type_, sa.Float):
        return pa.float64()
    if isinstance(type_, sa.Numeric):
        p, s = type_.precision, type_.scale
        if p and p <= MAX_DECIMAL_PRECISION and s is not None:
            return pa.decimal128(p, s)
        return pa.string()  # unbounded NUMERIC: exact as text
    if isinstance(type_, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if type_.timezone else None)
    if isinstance(type_, sa.Date):
        return pa.date32()
    if isinstance(type_, sa.Time):  # with a time zone: text, since an Arrow time has no offset
        return pa.string() if getattr(type_, "timezone", False) else pa.time64("us")
    if isinstance(type_, sa.Interval):
        # text as PostgreSQL prints it ("1 mon 2 days 03:00:00"): months and days have no fixed length,
        # so an Arrow duration cannot hold every interval, and PostgreSQL reads the text back exactly
        return pa.string()
    if _holds_bytes(type_):  # BYTEA, BLOB and MySQL's TINY/MEDIUM/LONGBLOB, BINARY, VARBINARY
        return pa.binary()
    return pa.string()  # text, enums, JSON, UUIDs and anything the driver hands over as text


def _holds_bytes(type_: sa.types.TypeEngine) -> bool:
    try:
        return type_.python_type is bytes
    except NotImplementedError:
        return False


def is_json(type_: sa.types.TypeEngine) -> bool:
    return isinstance(type_, sa.JSON)


def is_uuid(type_: sa.types.TypeEngine) -> bool:
    return isinstance(type_, sa.Uuid)
