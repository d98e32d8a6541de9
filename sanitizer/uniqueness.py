"""Unique stays unique: resolve the rare collisions of keyed pseudonyms, deterministically.

Fake, e-mail, username and hash outputs on a UNIQUE column carry 58-64 keyed bits, so two distinct
inputs collide with a chance of about n^2/2^60 - rare, never impossible, and varchar(n) truncation can
make it likelier. The ledger makes the mapping of a domain injective over everything one run sees: it
remembers, per domain, which input (by keyed fingerprint) claimed each output. An input whose output is
already claimed by another input is mapped again with the strategy's next keyed variant (Context.attempt:
1, 2, ...) until its output is free; the attempt is remembered, so the same input gets the same output
in every later batch and in every table of the domain (foreign keys still join).

Deterministic: for the same data read in the same order and the same key, the same input keeps its
output and the same input is re-mapped. Memory: 16 bytes per distinct value of the ledgered domains.
Strategies that are bijections by construction (int_permute, digits, phone, keep, shuffle) or whose
outputs are 122-bit (uuid) skip the ledger; validation still checks every UNIQUE column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ConfigError
from .keys import Keyring
from .membership import Prefilter, keyed_fingerprints
from .schema.model import ColumnInfo

MAX_ATTEMPTS = 32  # keyed variants tried before the column is declared too narrow to stay unique
MERGE_RUNS = 8  # sorted runs of claims kept before they are merged into one
DOMAIN = "sanitize/unique-ledger"

Remap = Callable[[np.ndarray, int], pa.Array]  # (row indices of the batch, attempt) -> new outputs


@dataclass
class _Claims:
    """Output fingerprint -> fingerprint of the input that claimed it, as a few sorted numpy runs."""

    runs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    prefilter: Prefilter = field(default_factory=Prefilter)  # most outputs are new: skip their search

    def owners(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, owner) for each output fingerprint; owner is meaningful only where found."""
        found = np.zeros(len(outputs), bool)
        owner = np.zeros(len(outputs), np.uint64)
        maybe = np.nonzero(self.prefilter.maybe(outputs))[0]
        if not len(maybe):
            return found, owner
        wanted = outputs[maybe]
        for keys, owners in self.runs:
            pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            hit = keys[pos] == wanted
            owner[maybe[hit]] = owners[pos[hit]]
            found[maybe[hit]] = True
        return found, owner

    def add(self, outputs: np.ndarray, inputs: np.ndarray) -> None:
        """Claim distinct outputs never claimed before (settle guarantees both), so any sort orders them
        alike: numpy's default (vectorized) one is several times the speed of a stable one here."""
        if not len(outputs):
            return
        order = np.argsort(outputs)
        self.runs.append((outputs[order], inputs[order]))
        if len(self.runs) > MERGE_RUNS:
            keys = np.concatenate([k for k, _ in self.runs])
            owners = np.concatenate([o for _, o in self.runs])
            order = np.argsort(keys)
            self.runs = [(keys[order], owners[order])]
        if self.prefilter.needs_growing(len(outputs)):
            self.prefilter.rebuild(np.concatenate([k for k, _ in self.runs]))
        else:
            self.prefilter.add(outputs)

    @property
    def size(self) -> int:
        return sum(len(k) for k, _ in self.runs)


@dataclass
class Prepared:
    """One batch of one column as the ledger needs it: fingerprints and row positions, no values.
    A pure function of the batch (prepare), so workers compute it and the parent only looks claims up."""

    row_ids: np.ndarray  # per row: which distinct input it holds, -1 for NULL
    distinct: np.ndarray  # the distinct inputs' ids, in order of their first row
    first_rows: np.ndarray  # the first row holding each
    inputs_fp: np.ndarray
    outputs_fp: np.ndarray
    unique_fp: np.ndarray | None = None  # the leak check's UNIQUE-count fingerprints of these outputs


def prepare(keyring: Keyring, inputs: pa.Array, outputs: pa.Array) -> Prepared | None:
    """Fingerprint a batch's distinct inputs and their outputs (attempt 0); None when all are NULL."""
    if isinstance(inputs, pa.ChunkedArray):
        inputs = inputs.combine_chunks()
    if inputs.null_count == len(inputs):
        return None
    encoded = inputs.dictionary_encode()
    row_ids = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    valid = row_ids >= 0
    rows = np.nonzero(valid)[0]
    if len(encoded.dictionary) == len(rows):  # every input once (e-mails, user names): no search needed
        distinct, first_rows = row_ids[rows], rows
    else:
        distinct, first = np.unique(row_ids[valid], return_index=True)
        first_rows = rows[first]  # the first row holding each distinct input, in batch order
    order = np.argsort(first_rows, kind="stable")  # earlier rows claim first
    distinct, first_rows = distinct[order], first_rows[order]
    return Prepared(row_ids, distinct, first_rows,
                    _fingerprints(keyring, encoded.dictionary.take(pa.array(distinct))),
                    _fingerprints(keyring, outputs.take(pa.array(first_rows))))


def _fingerprints(keyring: Keyring, values: pa.Array) -> np.ndarray:
    return keyed_fingerprints(keyring, DOMAIN, values)


@dataclass
class UniqueLedger:
    """One run's claims and re-mapped inputs, per domain."""

    keyring: Keyring
    _claims: dict[str, _Claims] = field(default_factory=dict)
    _attempts: dict[str, dict[int, int]] = field(default_factory=dict)  # domain -> input fp -> attempt
    resolved: dict[str, int] = field(default_factory=dict)  # table.column -> inputs re-mapped (for reports)

    def settle(self, domain: str, column: ColumnInfo, inputs: pa.Array, outputs: pa.Array, remap: Remap,
               prepared: Prepared | None = None) -> tuple[pa.Array, bool]:
        """`outputs` with every input whose output another input claimed re-mapped to a free output, and
        whether any was.

        `inputs` are the column's original values (typed), `outputs` what the strategy made of them, in
        the form that will be written; `remap(rows, attempt)` maps those rows of the batch again;
        `prepared`: prepare(inputs, outputs) computed elsewhere (a worker), else computed here.
        """
        prepared = prepared or prepare(self.keyring, inputs, outputs)
        if prepared is None:
            return outputs, False
        row_ids, distinct, first_rows = prepared.row_ids, prepared.distinct, prepared.first_rows
        inputs_fp, outputs_fp = prepared.inputs_fp, prepared.outputs_fp.copy()
        attempt = self._known_attempts(domain, inputs_fp)
        claims = self._claims.setdefault(domain, _Claims())
        new_values: list[pa.Array] = []
        slot = np.full(len(distinct), -1, np.int64)
        active = np.arange(len(distinct))
        redo = attempt > 0  # inputs re-mapped in an earlier batch or table: re-map them alike first
        while len(active):
            redo_here = active[redo[active]]
            if len(redo_here):
                outputs_fp[redo_here] = self._remap(redo_here, first_rows, attempt, remap, new_values, slot)
            found, owner = claims.owners(outputs_fp[active])
            clash = found & (owner != inputs_fp[active])
            clash |= _taken_in_batch(outputs_fp[active], inputs_fp[active], ~found)
            fresh = ~clash & ~found
            claims.add(outputs_fp[active][fresh], inputs_fp[active][fresh])  # settled: these never move again
            active = active[clash]
            attempt[active] += 1
            redo[active] = True
            if len(active) and attempt[active].max() > MAX_ATTEMPTS:
                raise ConfigError(
                    f"{column.qualified} ({column.type_name}): {len(active)} value(s) find no unique output after "
                    f"{MAX_ATTEMPTS} keyed retries; the column is too narrow for this strategy's unique output: "
                    "widen it, or choose a strategy with more room (e.g. hash)")
        remapped = attempt > 0
        if remapped.any():
            known = self._attempts.setdefault(domain, {})
            fresh_inputs = [fp for fp in inputs_fp[remapped].tolist() if fp not in known]
            known.update(zip(inputs_fp[remapped].tolist(), attempt[remapped].tolist(), strict=True))
            if fresh_inputs:
                self.resolved[column.qualified] = self.resolved.get(column.qualified, 0) + len(fresh_inputs)
        if not new_values:
            return outputs, False
        return _spread(outputs, row_ids, distinct, slot, pa.concat_arrays(new_values)), True

    def _known_attempts(self, domain: str, inputs_fp: np.ndarray) -> np.ndarray:
        known = self._attempts.get(domain)
        if not known:
            return np.zeros(len(inputs_fp), np.int64)
        return np.fromiter((known.get(fp, 0) for fp in inputs_fp.tolist()), np.int64, len(inputs_fp))

    def _remap(self, which: np.ndarray, first_rows: np.ndarray, attempt: np.ndarray, remap: Remap,
               new_values: list[pa.Array], slot: np.ndarray) -> np.ndarray:
        """Map the inputs `which` again at their attempt; remember where their new outputs are kept and
        return the new outputs' fingerprints (in the order of `which`)."""
        fingerprints = np.empty(len(which), np.uint64)
        for level in np.unique(attempt[which]):
            pick = np.nonzero(attempt[which] == level)[0]
            again = remap(first_rows[which[pick]], int(level))
            slot[which[pick]] = sum(len(v) for v in new_values) + np.arange(len(pick))
            new_values.append(again)
            fingerprints[pick] = _fingerprints(self.keyring, again)
        return fingerprints


def _taken_in_batch(outputs_fp: np.ndarray, inputs_fp: np.ndarray, unclaimed: np.ndarray) -> np.ndarray:
    """Among outputs no earlier batch claimed, those an earlier input of this batch already took."""
    clash = np.zeros(len(outputs_fp), bool)
    where = np.nonzero(unclaimed)[0]
    if len(where) < 2:
        return clash
    values = outputs_fp[where]
    order = np.argsort(values)
    ordered = values[order]
    new_group = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    if new_group.all():  # no output twice: the usual case
        return clash
    starts = np.flatnonzero(new_group)
    first_sorted = np.minimum.reduceat(order, starts)[np.cumsum(new_group) - 1]  # each value's earliest row
    first = np.empty(len(values), np.intp)
    first[order] = first_sorted
    later = np.arange(len(values)) != first
    clash[where[later & (inputs_fp[where] != inputs_fp[where][first])]] = True
    return clash


def _spread(outputs: pa.Array, row_ids: np.ndarray, distinct: np.ndarray, slot: np.ndarray,
            new_values: pa.Array) -> pa.Array:
    """Put each re-mapped input's new output into every row holding that input."""
    valid = row_ids >= 0
    slot_of_id = np.full(int(distinct.max()) + 1, -1, np.int64)
    slot_of_id[distinct] = slot
    row_slot = np.full(len(outputs), -1, np.int64)
    row_slot[valid] = slot_of_id[row_ids[valid]]
    changed = row_slot >= 0
    picked = new_values.cast(outputs.type).take(pa.array(np.where(changed, row_slot, 0)))
    return pc.if_else(pa.array(changed), picked, outputs)
