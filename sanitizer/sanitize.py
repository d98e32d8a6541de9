"""The sanitize stage: one batch through its table's strategies, in dependency order, fitted to the
columns, each column shown to the leak check; and the uniqueness ledger's settling of UNIQUE columns.

Pure functions of (plan, key, batch): the same code runs here or in a worker process (parallel.py),
which therefore imports only this, not the database side of the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ConfigError
from .keys import Keyring
from .plan import TablePlan
from .schema.model import ColumnInfo, TableInfo
from .schema.wire import decode, encode
from .strategies.base import Context, Strategy
from .uniqueness import Prepared, UniqueLedger, prepare
from .validate.leak import LeakCheck, Observation


class _Columns(Mapping[str, pa.Array]):
    """A batch's columns by name, decoded from PostgreSQL text only when a strategy asks for them."""

    def __init__(self, raw: dict[str, pa.Array], info: TableInfo, wire: bool) -> None:
        self._raw, self._info, self._wire, self._typed = raw, info, wire, {}

    def __getitem__(self, name: str) -> pa.Array:
        if name not in self._typed:
            raw = self._raw[name]
            if self._wire and pa.types.is_binary(raw.type):  # Source.binary_columns promised otherwise
                raise RuntimeError(f"{self._info.qualified}.{name} was read in binary COPY form, unreadable here")
            self._typed[name] = decode(raw, self._info.column(name)) if self._wire else raw
        return self._typed[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class _Output(dict):
    """Sanitized columns so far; a kept column reads as its original."""

    def __init__(self, original: _Columns, kept: set[str]) -> None:
        super().__init__()
        self._original, self._kept = original, kept

    def __missing__(self, name: str) -> pa.Array:
        if name in self._kept:
            return self._original[name]
        raise KeyError(name)


def sanitize_batch(plan: TablePlan, batch: pa.RecordBatch, keyring: Keyring, leaks: LeakCheck,
                   *, wire: bool = False, prepared: dict[str, Prepared] | None = None) -> pa.RecordBatch:
    """Apply each column's strategy (dependencies first); fit output to the column; feed the leak check.

    With wire=True the batch holds PostgreSQL text; kept columns pass through without being decoded.
    `prepared` receives, for columns the uniqueness ledger settles, what it needs (see settle_unique).
    """
    raw = dict(zip(batch.schema.names, batch.columns, strict=True))
    original = _Columns(raw, plan.info, wire)
    kept = {n for n, s in plan.strategies.items() if s.copies_input}
    output = _Output(original, kept)
    ledgered = set(plan.ledgered())
    result: dict[str, pa.Array] = {}
    for name in plan.order:
        column, strategy = plan.info.column(name), plan.strategies[name]
        if name in kept:
            result[name] = raw[name]
            if column.is_text:
                leaks.observe(column, raw[name], raw[name], transformed=False)
            continue
        values = original[name]
        context = Context(keyring, plan.column(name), original, output)  # an FK column sees its key's uniqueness
        out = fit_to_column(strategy.apply(values, context), column, strategy)
        output[name] = out
        result[name] = encode(out, column) if wire else out
        if not strategy.changes_values:  # shuffle: values moved to other rows, none changed
            if column.is_text:
                leaks.observe(column, result[name], result[name], transformed=False)
            continue
        leaks.observe(column, values, out, transformed=True, check_unique=name not in ledgered,
                      may_keep=bool(strategy.may_keep_value))
        if name in ledgered and prepared is not None and (ready := prepare(keyring, values, result[name])):
            ready.unique_fp = leaks.unique_fingerprints(column, result[name])
            prepared[name] = ready
    return pa.RecordBatch.from_arrays([result[n] for n in batch.schema.names], schema=batch.schema)


def settle_unique(plan: TablePlan, names: list[str], batch: pa.RecordBatch, out: pa.RecordBatch, keyring: Keyring,
                  ledger: UniqueLedger, leaks: LeakCheck, wire: bool,
                  prepared: dict[str, Prepared] | None = None) -> pa.RecordBatch:
    """Let the uniqueness ledger re-map inputs whose output another input took (sanitizer/uniqueness.py);
    `batch` is the input of `out`. Runs in the main process, batch after batch, in read order; with
    `prepared` (from sanitize_batch, maybe in a worker) it only looks the fingerprints up."""
    raw = dict(zip(batch.schema.names, batch.columns, strict=True))
    original = _Columns(raw, plan.info, wire)
    result = dict(zip(out.schema.names, out.columns, strict=True))
    kept = {n for n, s in plan.strategies.items() if s.copies_input}
    for name in names:
        strategy, column = plan.strategies[name], plan.column(name)

        def remap(rows: np.ndarray, attempt: int, name: str = name, strategy: Strategy = strategy,
                  column: ColumnInfo = column) -> pa.Array:
            take = pa.array(rows)
            sub = _Columns({n: values.take(take) for n, values in raw.items()}, plan.info, wire)
            done = _Output(sub, kept)
            for dep in strategy.depends_on():
                dep_values = result[dep].take(take)
                done[dep] = decode(dep_values, plan.info.column(dep)) if wire else dep_values
            again = fit_to_column(strategy.apply(sub[name], Context(keyring, column, sub, done, attempt=attempt)),
                                  column, strategy)
            leaks.observe(plan.info.column(name), sub[name], again, transformed=True, check_unique=False,
                          may_keep=bool(strategy.may_keep_value))
            return encode(again, column) if wire else again

        ready = (prepared or {}).get(name)
        result[name], changed = ledger.settle(strategy.mapping_key(), column, original[name], result[name], remap,
                                              ready)
        real = plan.info.column(name)  # the real column: an FK one repeats its parent's values
        if ready is not None and not changed:
            leaks.add(Observation(real.qualified, unique=ready.unique_fp))
        else:
            leaks.observe_unique(real, result[name])
    return pa.RecordBatch.from_arrays([result[n] for n in out.schema.names], schema=out.schema)


def decode_all(info: TableInfo, batch: pa.RecordBatch) -> pa.RecordBatch:
    """PostgreSQL text -> typed columns, for targets that take typed values (SQLite, Parquet)."""
    arrays = [decode(values, column) for values, column in zip(batch.columns, info.columns, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def fit_to_column(values: pa.Array, column: ColumnInfo, strategy: Strategy) -> pa.Array:
    """Cast to the column's type and cut text to its length, or name the column in a clear error."""
    if values.type != column.arrow_type:
        try:
            values = pc.cast(values, column.arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise ConfigError(
                f"{column.qualified}: {strategy.name} makes {values.type} values that do not fit "
                f"{column.type_name}; choose a strategy or kind of that type"
            ) from None
    if column.max_length and column.is_text:
        values = pc.utf8_slice_codeunits(values, 0, column.max_length)
    return values
