"""Values of one column from its type, bounds and statistics alone: vectorized, unique by construction.

Every generator works on a numeric domain (integers, unscaled decimals, days, microseconds) so bounds
from CHECKs, domains, partitions and statistics intersect in one place, and a UNIQUE column is an
arithmetic sequence (optionally through a keyed affine bijection) rather than draws retried until they
differ. Text-carried PostgreSQL types (arrays, tsvector, uuid, json, inet) are written in the text form
COPY accepts, since that is how the pipeline carries them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ._checks import Bound

EPOCH = date(1970, 1, 1)
DAY_US = 86_400_000_000
DEFAULT_SPAN = {"int": (0, 1000), "float": (0.0, 1000.0), "date": (16436, 20089),  # 2015-01-01 .. 2025-01-01
                "timestamp": (16436 * DAY_US, 20089 * DAY_US), "time": (0, DAY_US), "interval": (0, 30 * DAY_US)}
INT_LIMITS = {"SMALLINT": 15, "INT2": 15, "TINYINT": 7, "MEDIUMINT": 23, "INTEGER": 31, "INT": 31, "INT4": 31,
              "BIGINT": 63, "INT8": 63}
WORDS = pa.array(["amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper",
                  "kestrel", "lumen", "maple", "nectar", "onyx", "pebble", "quartz", "river", "sable", "tundra",
                  "umber", "violet", "willow", "xenon", "yarrow", "zephyr", "atlas", "beacon", "cobalt", "dune",
                  "echo", "flint"])  # neutral filler: realism comes from the rules' strategies
NUMERIC_KINDS = {"int", "float", "decimal", "date", "timestamp", "time", "interval"}


@dataclass(frozen=True)
class Spec:
    """One column as the generator sees it."""

    where: str  # table.column, for messages
    kind: str
    arrow_type: pa.DataType
    type_name: str
    max_length: int | None = None
    bound: Bound | None = None
    element: str | None = None
    unique: bool = False
    sequential: bool = False  # a single-column PK: 1, 2, 3, ... like a serial
    null_fraction: float = 0.0
    stats_min: object = None
    stats_max: object = None


def kind_of(arrow_type: pa.DataType, type_name: str) -> str:
    """The generator family for a column: from Arrow where it says enough, else from the type's name."""
    upper = type_name.upper()
    checks = [(pa.types.is_boolean, "bool"), (pa.types.is_integer, "int"), (pa.types.is_floating, "float"),
              (pa.types.is_decimal, "decimal"), (pa.types.is_date, "date"), (pa.types.is_timestamp, "timestamp"),
              (pa.types.is_time, "time"), (pa.types.is_duration, "interval"), (pa.types.is_binary, "bytes")]
    for test, kind in checks:
        if test(arrow_type):
            return kind
    if upper in INT_LIMITS or upper.startswith(("INTEGER", "BIGINT", "SMALLINT")):
        return "int"
    prefixes = [(("NUMERIC", "DECIMAL"), "numeric_text"), (("UUID",), "uuid"), (("JSON",), "json"),
                (("ARRAY",), "array"), (("TSVECTOR",), "tsvector"), (("INET", "CIDR"), "inet"),
                (("DOUBLE", "REAL", "FLOAT"), "float"), (("DATE",), "date"), (("TIMESTAMP",), "timestamp"),
                (("BOOL",), "bool")]
    for names, kind in prefixes:
        if upper.startswith(names):
            return kind
    if upper.endswith("[]"):
        return "array"
    return "text"


def generate_column(spec: Spec, n: int, rng: np.random.Generator) -> pa.Array:
    """n values for the column, typed as `spec.arrow_type`; NULLs at `spec.null_fraction`."""
    if spec.bound is not None and spec.bound.choices is not None:
        values = _choices(spec, n, rng)
    elif spec.kind in NUMERIC_KINDS:
        values = _numeric(spec, n, rng)
    else:
        values = _TEXTUAL[spec.kind](spec, n, rng)
    if spec.null_fraction > 0 and not spec.unique:
        values = pc.if_else(pa.array(rng.random(n) < spec.null_fraction), pa.nulls(n, values.type), values)
    return values if values.type == spec.arrow_type else pc.cast(values, spec.arrow_type)


def permutation(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """`n` distinct indices in [0, size): a keyed affine bijection i -> (a*i + b) mod size, no retries."""
    if n > size:
        raise ValueError(f"{n} distinct values out of {size}")
    if size <= 1:
        return np.zeros(n, dtype=np.int64)
    a = int(rng.integers(1, min(size, 1 << 31)))
    while math.gcd(a, size) != 1:
        a += 1
    b = int(rng.integers(0, size))
    i = np.arange(n, dtype=np.uint64)
    return ((np.uint64(a) * i + np.uint64(b)) % np.uint64(size)).astype(np.int64)


def _choices(spec: Spec, n: int, rng: np.random.Generator) -> pa.Array:
    choices = list(spec.bound.choices)
    if spec.unique:
        if n > len(choices):
            raise ConfigError(f"{spec.where}: UNIQUE with only {len(choices)} allowed values; ask for fewer rows")
        idx = permutation(n, len(choices), rng)
    else:
        idx = rng.integers(0, len(choices), n)
    if spec.kind in NUMERIC_KINDS and spec.kind not in ("date", "timestamp", "time"):
        return pa.array([_literal(spec, c) for c in choices]).take(pa.array(idx))
    return pc.cast(pa.array([str(c) for c in choices]), pa.string()).take(pa.array(idx))


def _numeric(spec: Spec, n: int, rng: np.random.Generator) -> pa.Array:
    lo, hi = _span(spec, n)
    if spec.kind == "float":
        raw = lo + np.arange(n) * ((hi - lo) / max(n, 1)) if spec.unique else rng.uniform(lo, hi, n)
        return pa.array(raw, pa.float64())
    if spec.unique:
        step = max(1, min(1_000_000, (hi - lo) // max(n, 1))) if spec.kind == "timestamp" else 1
        order = np.arange(n, dtype=np.int64) if spec.sequential else permutation(n, n, rng)
        raw = lo + order * step
    else:
        raw = rng.integers(lo, hi, n, dtype=np.int64)
    if spec.kind == "decimal":
        words = np.empty((n, 2), dtype=np.int64)
        words[:, 0], words[:, 1] = raw, np.where(raw < 0, -1, 0)
        return pa.Array.from_buffers(spec.arrow_type, n, [None, pa.py_buffer(words.tobytes())])
    types = {"int": pa.int64(), "date": pa.int32(), "time": pa.int64(), "interval": pa.int64(),
             "timestamp": pa.int64()}
    ints = pa.array(raw.astype(np.int32) if spec.kind == "date" else raw, types[spec.kind])
    target = spec.arrow_type if spec.kind != "int" and not pa.types.is_string(spec.arrow_type) else pa.int64()
    if spec.kind == "date":
        target = pa.date32()
    return ints.view(target) if spec.kind != "int" else ints


def _span(spec: Spec, n: int) -> tuple:
    """[lo, hi) in the kind's domain: type limits ∩ CHECK bounds, preferring statistics, else defaults."""
    type_lo, type_hi = _type_limits(spec)
    b = spec.bound or Bound()
    blo = max(type_lo, _edge(spec, b.low, b.low_open, low=True)) if b.low is not None else type_lo
    bhi = min(type_hi, _edge(spec, b.high, b.high_open, low=False)) if b.high is not None else type_hi
    if spec.stats_min is not None and spec.stats_max is not None:
        dlo = _edge(spec, spec.stats_min, False, low=True)
        dhi = _edge(spec, spec.stats_max, False, low=False)
    elif spec.sequential:
        dlo, dhi = 1, 1 + n
    else:
        dlo, dhi = _default_span(spec)
    lo, hi = max(dlo, blo), min(dhi, bhi)
    if hi <= lo:  # the preferred span lies outside what is allowed: take as wide a part of the allowed one
        lo = blo if blo > type_lo else max(blo, bhi - (dhi - dlo))
        hi = min(bhi, lo + (dhi - dlo))
    if spec.unique and (hi - lo) < n:
        hi = min(bhi, lo + n)
        lo = max(blo, hi - n)
    if hi <= lo or (spec.unique and hi - lo < n and spec.kind != "float"):
        raise ConfigError(f"{spec.where}: only {max(hi - lo, 0)} values fit the type and CHECKs, {n} distinct "
                          "asked; ask for fewer rows")
    return lo, hi


def _default_span(spec: Spec) -> tuple:
    if spec.kind == "decimal":
        scale = spec.arrow_type.scale
        return 0, min(10 ** spec.arrow_type.precision, 1000 * 10 ** scale)
    return DEFAULT_SPAN[spec.kind]


def _type_limits(spec: Spec) -> tuple:
    if spec.kind == "int":
        bits = INT_LIMITS.get(spec.type_name.upper().split("(")[0], 31)
        return -(2 ** bits) + 1, 2 ** bits
    if spec.kind == "decimal":
        return -(10 ** spec.arrow_type.precision) + 1, 10 ** spec.arrow_type.precision
    if spec.kind == "float":
        return -1e300, 1e300
    if spec.kind == "time":
        return 0, DAY_US
    return -(2 ** 62), 2 ** 62


def _edge(spec: Spec, value: object, is_open: bool, *, low: bool) -> float | int:
    """A bound or statistic in the kind's domain; integer domains become [lo, hi) exactly."""
    x = _literal(spec, value)
    if spec.kind == "float":
        return float(np.nextafter(x, math.inf if low else -math.inf)) if is_open else float(x)
    if spec.kind == "decimal":
        x = x * 10 ** spec.arrow_type.scale
    if low:
        return math.floor(x) + 1 if is_open else math.ceil(x)
    return math.ceil(x) if is_open else math.floor(x) + 1


def _literal(spec: Spec, value: object) -> float | int:
    """A literal (from a CHECK, a partition bound or a statistic) as a number of the kind's domain."""
    if isinstance(value, datetime) or (spec.kind == "timestamp" and isinstance(value, str)):
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return round(moment.timestamp() * 1_000_000)
    if isinstance(value, date) or (spec.kind == "date" and isinstance(value, str)):
        return ((value if isinstance(value, date) else date.fromisoformat(value[:10])) - EPOCH).days
    if isinstance(value, time) or (spec.kind == "time" and isinstance(value, str)):
        t = value if isinstance(value, time) else time.fromisoformat(value)
        return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond
    number = float(value) if not isinstance(value, int) else value
    return int(number) if spec.kind == "int" and float(number).is_integer() else number


def _ids(n: int, rng: np.random.Generator, spec: Spec) -> pa.Array:
    """Distinct decimal strings 1..n (shuffled unless sequential) for unique text-like columns."""
    order = np.arange(n, dtype=np.int64) if spec.sequential else permutation(n, n, rng)
    return pc.cast(pa.array(order + 1), pa.string())


def _text(spec: Spec, n: int, rng: np.random.Generator) -> pa.Array:
    limit = spec.max_length
    if spec.unique:
        ids = _ids(n, rng, spec)
        digits = len(str(n))
        if limit is not None and limit < digits:
            raise ConfigError(f"{spec.where}: {limit} characters cannot hold {n} distinct values; ask for fewer rows")
        if limit is not None and limit < digits + 2:
            return ids
        word = WORDS.take(pa.array(rng.integers(0, len(WORDS), n)))
        if limit is not None:
            word = pc.utf8_slice_codeunits(word, 0, limit - digits - 1)
        return pc.binary_join_element_wise(word, ids, "-")
    a, b = (WORDS.take(pa.array(rng.integers(0, len(WORDS), n))) for _ in range(2))
    out = pc.binary_join_element_wise(pc.utf8_capitalize(a), b, " ")
    return pc.utf8_slice_codeunits(out, 0, limit) if limit is not None else out


def _fixed_hex(raw: np.ndarray, width: int) -> pa.Array:
    """Rows of a uint8 matrix as lowercase hex strings, without a Python loop (one bytes.hex call)."""
    text = raw.tobytes().hex().encode()
    offsets = np.arange(0, len(text) + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text))


def _uuid(spec: Spec, n: int, rng: np.random.Generator) -> pa.Array:
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    if spec.unique:  # the last 6 bytes carry the row number: distinct by construction
        raw[:, 10:] = np.arange(n, dtype=">u8").view(np.uint8).reshape(n, 8)[:, 2:]
    hexes = _fixed_hex(raw, 32)
    parts = [pc.utf8_slice_codeunits(hexes, s, e) for s, e in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))]
    return pc.binary_join_element_wise(*parts, "-")


def _bytes(spec: Spec, n: int, rng: np.random.Generator) -> pa.Array:
    raw = rng.integers(0, 256, (n, 8), dtype=np.uint8)
    if spec.unique:
        raw[:] = np.arange(n, dtype=">u8").view(np.uint8).reshape(n, 8)
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(8), n, [None, pa.py_buffer(raw.tobytes())])
    return fixed.cast(pa.binary())


def _joined(prefix: str, parts: list[pa.Array], sep: str, suffix: str) -> pa.Array:
    inner = pc.binary_join_element_wise(*parts, sep)
    n = len(inner)
    return pc.binary_join_element_wise(pa.array([prefix] * n), inner, pa.array([suffix] * n), "")


def _words(n: int, rng: np.random.Generator) -> pa.Array:
    return WORDS.take(pa.array(rng.integers(0, len(WORDS), n)))


def _small_ints(n: int, rng: np.random.Generator) -> pa.Array:
    return pc.cast(pa.array(rng.integers(0, 1000, n)), pa.string())


_TEXTUAL = {
    "text": _text,
    "uuid": _uuid,
    "bytes": _bytes,
    "bool": lambda spec, n, rng: pa.array(rng.random(n) < 0.5),
    "numeric_text": lambda spec, n, rng: _ids(n, rng, spec) if spec.unique else _small_ints(n, rng),
    "json": lambda spec, n, rng: _joined('{"n": ', [_ids(n, rng, spec) if spec.unique else _small_ints(n, rng)],
                                         "", "}"),
    "array": lambda spec, n, rng: (
        _joined("{", [_words(n, rng), _words(n, rng)], ",", "}") if (spec.element or "TEXT").upper().startswith(
            ("TEXT", "VARCHAR", "CHAR")) else
        _joined("{", [_small_ints(n, rng), _small_ints(n, rng)], ",", "}") if kind_of(pa.string(), spec.element or "")
        == "int" else pa.array(["{}"] * n)),
    "tsvector": lambda spec, n, rng: _joined("'", [_words(n, rng), _words(n, rng)], "' '", "'"),
    "inet": lambda spec, n, rng: _joined("10.", [pc.cast(pa.array(rng.integers(0, 256, n)), pa.string())
                                                 for _ in range(3)], ".", ""),
}
