"""One strategy interface. A strategy is a pure function of (key, column, batch of values).

Each strategy declares a pydantic parameter model; that model is the single source of truth for rules
validation, the JSON Schema, `sanitizer rules show` and the generated docs. Strategies get all keyed
randomness from the Context, never from a global RNG or shared Faker state, so the same code gives the
same output in any process, batch order or (later) on a distributed engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from ..keys import Keyring
from ..schema.model import ColumnInfo


class StrategyParams(BaseModel):
    """Parameters common to every strategy; subclasses add their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str | None = Field(
        None,
        description="Columns with the same domain share one mapping (default: the strategy and its "
        "output-shaping parameters), so users.email and invoices.email pseudonymise alike.",
    )
    unique: bool = Field(
        False, description="Output must stay unique; implied for PRIMARY KEY and UNIQUE columns."
    )


P = TypeVar("P", bound=StrategyParams)


@dataclass(frozen=True)
class Context:
    """What a strategy may use besides its values: the keyring, the column it writes, and the row.

    `original` holds the batch's original columns and `output` the columns already sanitized
    (those named by the strategy's `depends_on()` are always there), so row-level strategies
    (template, person with seed_columns, date_shift per entity) stay pure functions of the batch.
    `attempt` > 0 asks for the strategy's next keyed variant: the uniqueness ledger uses it to
    re-map an input whose output another input already took (sanitizer/uniqueness.py).
    """

    keyring: Keyring
    column: ColumnInfo
    original: dict[str, pa.Array] = field(default_factory=dict)
    output: dict[str, pa.Array] = field(default_factory=dict)
    attempt: int = 0

    def uint64(self, domain: str, values: pa.Array) -> np.ndarray:
        """Keyed 64-bit integer for each (non-null) value, from its canonical text form."""
        return self.keyring.uint64(self._variant(domain), canonical_binary(values))

    def digest_matrix(self, domain: str, values: pa.Array, size: int = 16) -> np.ndarray:
        """Keyed digests of each (non-null) value as an (n, size) uint8 matrix."""
        return self.keyring.digest_matrix(self._variant(domain), canonical_binary(values), size=size)

    def _variant(self, domain: str) -> str:
        return f"{domain}#attempt={self.attempt}" if self.attempt else domain


class Strategy(Generic[P]):
    """Base class: subclasses set `name`, `params_model`, and implement `transform`."""

    name: ClassVar[str]
    params_model: ClassVar[type[StrategyParams]] = StrategyParams
    can_be_unique: ClassVar[bool] = False
    changes_values: ClassVar[bool] = True  # False for keep and shuffle: the leak check watches the rest
    copies_input: ClassVar[bool] = False  # keep: the column passes through unread (shuffle still moves values)
    keyed: ClassVar[bool] = True  # output depends on the masking key (False: a fixed rule like round)
    may_keep_value: ClassVar[str] = ""  # why a value may come back unchanged; "" = never does
    # distinct inputs give distinct outputs by construction (a keyed bijection, or 122 keyed bits):
    # such columns need no uniqueness ledger (sanitizer/uniqueness.py)
    injective: ClassVar[bool] = False
    # moves a value by a small keyed amount (noise, date_shift): whoever knows the original finds it
    # nearby, so a quasi-identifier written so still counts toward re-identification risk
    perturbs: ClassVar[bool] = False
    example: ClassVar[str] = ""

    def __init__(self, params: P) -> None:
        self.params = params

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    def domain(self) -> str:
        """The keyed mapping's domain; parameters that shape output are part of the default."""
        if self.params.domain:
            return self.params.domain
        shaping = self.params.model_dump(exclude={"domain", "unique"}, exclude_defaults=True)
        parts = [self.name, *(f"{k}={shaping[k]}" for k in sorted(shaping))]
        return "|".join(parts)

    def mapping_key(self) -> str:
        """Columns with equal keys map every input alike: the domain plus every output-shaping parameter."""
        return f"{self.domain()}|{self.name}|{self.params.model_dump_json(exclude={'domain', 'unique'})}"

    def needs_ledger(self) -> bool:
        """True when distinct inputs could map to one output, so a UNIQUE column needs the ledger."""
        return self.changes_values and not self.injective

    def reads_original(self) -> set[str]:
        """Columns of the same row whose ORIGINAL values this strategy reads (e.g. seed_columns)."""
        return set(getattr(self.params, "seed_columns", None) or ())

    def depends_on(self) -> set[str]:
        """Columns of the same row whose sanitized values this strategy reads (processed first)."""
        return set()

    def check(self, column: ColumnInfo) -> str | None:
        """Return why this strategy cannot write this column, or None when it can."""
        if (self.params.unique or column.unique) and not self.can_be_unique and self.changes_values:
            return f"{self.name} cannot keep values unique; use hash, or fake with unique: true"
        return None

    def apply(self, values: pa.Array, ctx: Context) -> pa.Array:
        """Transform a batch of one column's values; NULL stays NULL unless the strategy says so."""
        raise NotImplementedError


def canonical_binary(values: pa.Array) -> pa.Array:
    """The text form keyed hashing sees, as UTF-8 bytes, so 42 (int) and '42' (text) map alike across tables."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        return values
    if pa.types.is_large_string(values.type):
        return values.view(pa.large_binary())
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    return values.view(pa.binary())  # the same buffers: no copy, no Python per value


DISTINCT_SAMPLE = 2048  # values looked at to guess whether a batch repeats itself


def map_distinct(values: pa.Array, fn: Callable[[pa.Array], pa.Array], *, elementwise: bool = False) -> pa.Array:
    """Apply fn once per distinct non-null value and spread the results back; nulls stay null.

    elementwise: fn maps each value on its own (its output for a value does not depend on the other
    values it is given), so a batch without NULLs whose sample shows no repeats (e-mails, addresses)
    goes to fn whole: deduplicating distinct text costs more than it saves. The result is the same."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if len(values) == 0 or values.null_count == len(values):
        probe = fn(values.drop_null()[:0]) if len(values) else None
        out_type = probe.type if probe is not None else values.type
        return pa.nulls(len(values), type=out_type)
    if elementwise and values.null_count == 0 and len(values) > DISTINCT_SAMPLE and _looks_distinct(values):
        return fn(values)
    encoded = values.dictionary_encode()
    mapped = fn(encoded.dictionary)
    return mapped.take(encoded.indices)


def _looks_distinct(values: pa.Array) -> bool:
    step = len(values) // DISTINCT_SAMPLE
    sample = values.slice(0, step * DISTINCT_SAMPLE).take(pa.array(np.arange(0, step * DISTINCT_SAMPLE, step)))
    return len(pc.unique(sample)) > 0.98 * DISTINCT_SAMPLE
