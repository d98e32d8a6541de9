"""One column's sampled values, prepared once and shared by every detector that looks at them.

Detectors work on the *distinct* values with their counts (a status column of 1,000 rows is a handful of
strings), on Arrow arrays for the vectorized regex pre-filters, and on Python strings only for the few
candidates that need a checksum or a dictionary look-up. Every derived view is computed lazily and cached.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Kind = Literal["text", "int", "float", "date", "binary", "bool", "other"]

# Cheap masks detectors name as their `gate`: if the gate's share is under a threshold, so is the detector's.
GATES = {
    "digits5": r"[0-9](?:[^0-9]*[0-9]){4}",  # at least five digits
    "wordy": r"^[^0-9@]+$",  # no digits, no @ (\pL classes cost RE2 ten times more)
    "spaced": r"\S\s+\S",  # more than one token
    "at": "@",
    "dotted_digits": r"[0-9]\.[0-9]",  # IPv4
    "hex_colon": r"[0-9A-Fa-f][:\-][0-9A-Fa-f]|[0-9A-Fa-f]{4}\.",  # IPv6, MAC
    "iban_head": r"^[A-Za-z]{2}[0-9]{2}",
    "crypt_head": r"^\$|^(?:pbkdf2|bcrypt|argon2|scrypt)",
}


def kind_of(arrow_type: pa.DataType) -> Kind:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "float"
    if pa.types.is_date(arrow_type) or pa.types.is_timestamp(arrow_type):
        return "date"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "binary"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    return "other"


class Sample:
    """Distinct non-null values (text: trimmed and non-empty) with their counts; `total` counts rows."""

    def __init__(self, values: pa.Array | pa.ChunkedArray) -> None:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        self.kind: Kind = kind_of(values.type)
        values = values.drop_null()
        if self.kind == "text":
            if pa.types.is_large_string(values.type):
                values = values.cast(pa.string())
            values = pc.utf8_trim_whitespace(values)
            values = values.filter(pc.not_equal(pc.utf8_length(values), 0))
        if self.kind in ("text", "int", "float", "date", "bool") and len(values):
            counted = pc.value_counts(values)
            self.values: pa.Array = counted.field("values")
            self.counts = counted.field("counts").to_numpy().astype(np.int64)
        else:  # binary and exotic types: no need to group, only presence matters
            self.values = values
            self.counts = np.ones(len(values), dtype=np.int64)
        self.total = int(self.counts.sum())
        self._masks: dict[str, np.ndarray] = {}
        self.memo: dict[str, object] = {}  # per-column results detectors share (first/last-name masks)

    def share(self, mask: np.ndarray) -> float:
        """Share of sampled rows (not distinct values) whose value is selected by the mask."""
        return float(self.counts[mask].sum()) / self.total if self.total else 0.0

    def regex(self, pattern: str) -> np.ndarray:
        """RE2 search over the distinct values, cached by pattern (detectors share patterns and gates)."""
        mask = self._masks.get(pattern)
        if mask is None:
            result = pc.match_substring_regex(self.values, pattern)
            mask = pc.fill_null(result, False).to_numpy(zero_copy_only=False).copy()
            self._masks[pattern] = mask
        return mask.copy()

    def mask(self, gate: str) -> np.ndarray:
        return self.regex(GATES[gate])

    @cached_property
    def texts(self) -> list[str]:
        return self.values.to_pylist()

    @cached_property
    def lower(self) -> list[str]:
        return pc.utf8_lower(self.values).to_pylist()

    @cached_property
    def tokens(self) -> list[list[str]]:
        """Lower-cased words with surrounding punctuation stripped ("Smith," -> "smith")."""
        return [[t.strip(".,;:()\"'") for t in v.split()] for v in self.lower]
