"""The leak check: prove no original sensitive value reached the output, without keeping any value.

Every distinct original value of a column a rule transforms is reduced to a keyed 64-bit fingerprint
(lower-cased, trimmed text). Every distinct output value of every text column is fingerprinted the same
way, and the two sets are intersected at the end, so an e-mail copied into a notes column is caught.

Low-entropy values that stand in public dictionaries (Faker's first and last names, city and country
names) and very short values would match by chance — a fake first name is often some real customer's
first name. Those count as leaked only when a row keeps its own original value (the same-row check);
e-mails, phones, addresses, identifiers and full names count anywhere. See docs/validation.md.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ..keys import Keyring
from ..membership import Prefilter, keyed_fingerprints, sorted_unique
from ..schema.model import ColumnInfo

MIN_ANYWHERE_LENGTH = 5  # shorter values ("CA", "Bob") are too common to prove a leak by themselves
MAX_LOW_ENTROPY_DIGITS = 6  # postal codes, house numbers, years: same-row check only
CHUNK_VALUES = 1 << 22  # fingerprints read back at a time (32 MiB)
COMPACT_PARTS = 64  # batches of one column's original fingerprints merged (deduplicated) at a time
DEDUPLICATE_FROM = 4096  # values looked at to guess whether deduplicating first pays off
MAX_GRAM = 6  # longest run of words looked for inside free text (full names, street addresses, phones)
DOMAIN = "validate/leak"
PUNCTUATION = ".,;:!?()[]{}<>\"'`"
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())  # what str.split() splits on


def low_entropy(text: str) -> bool:
    """Too common to prove a leak by appearing elsewhere: short text, short numbers (postal codes),
    and a single word of letters (a first or last name, a city, any dictionary word)."""
    compact = text.replace(" ", "").replace("-", "")
    one_word = text.replace("'", "").replace("\u2019", "").replace(".", "").replace("-", "").isalpha()
    return (len(text) < MIN_ANYWHERE_LENGTH or one_word
            or (compact.isdigit() and len(compact) <= MAX_LOW_ENTROPY_DIGITS))


def normalise(text: str) -> str:
    """Lower-case words with surrounding punctuation and extra spaces removed: the form compared."""
    return " ".join(w for w in (w.strip(PUNCTUATION) for w in text.lower().split()) if w)


# `normalise` and `low_entropy` say what is compared; the functions below do the same over whole Arrow
# arrays (kernels and RE2 patterns, no per-value Python). A value NEEDS_NORMALISING does not match is
# in normal form once lower-cased: no whitespace but single inner spaces, no punctuation at a word's edge.
_EDGE = "[" + "".join("\\" + c if c in "[]\\^-" else c for c in PUNCTUATION) + "]"
NEEDS_NORMALISING = ("(?:^$|^ | $|  |[^\\P{Z} ]|[\\t\\n\\x0b\\f\\r\\x1c-\\x1f\\x{85}]"
                     f"|(?:^| ){_EDGE}|{_EDGE}(?: |$))")
LOW_ENTROPY = (f"^(?s:.{{0,{MIN_ANYWHERE_LENGTH - 1}}}"  # short text
               f"|[ -]*(?:\\p{{Nd}}[ -]*){{1,{MAX_LOW_ENTROPY_DIGITS}}}"  # a short number
               "|['\u2019.\\-]*\\pL[\\pL'\u2019.\\-]*)$")  # one word of letters
SUSPECT = f"{NEEDS_NORMALISING}|{LOW_ENTROPY}"


def anywhere_forms(values: pa.Array) -> pa.Array:
    """The normalised forms of non-null text that count anywhere (not `low_entropy`): one RE2 pass
    picks the few values that need splitting into words or may be low-entropy; the rest (e-mails,
    addresses, numbers: most originals) are in normal form once lower-cased."""
    lower = pc.utf8_lower(values)
    suspect = matches(lower, SUSPECT)
    if not suspect.any():
        return lower
    rest = counts_anywhere(joined(*words_of(lower.filter(pa.array(suspect)))))
    return pa.concat_arrays([lower.filter(pa.array(~suspect)), rest])


def counts_anywhere(texts: pa.Array) -> pa.Array:
    """The normalised texts that are not `low_entropy`."""
    return texts.filter(pa.array(~matches(texts, LOW_ENTROPY)))


def matches(texts: pa.Array, pattern: str) -> np.ndarray:
    """Which non-null texts the pattern matches somewhere. Polars' regex engine (Rust) takes a third of
    the time of Arrow's RE2 kernel here; the patterns are written in the syntax both accept."""
    if not len(texts):
        return np.zeros(0, bool)
    return pl.Series(texts).str.contains(pattern).to_numpy()


def words_of(values: pa.Array) -> tuple[pa.Array, np.ndarray, int]:
    """Vectorized `normalise`, split: the words of every value, in order, and the index of the value each
    belongs to. Printable ASCII (no space but " ") is split by the ASCII kernel, six times the speed."""
    lower = pc.utf8_lower(values)
    plain = pc.ascii_is_printable(lower).to_numpy(zero_copy_only=False)
    if plain.all() or not plain.any():
        words, parents = _words(pc.ascii_split_whitespace(lower) if plain.all() else pc.utf8_split_whitespace(lower))
        return words, parents, len(values)
    ascii_rows, other_rows = np.nonzero(plain)[0], np.nonzero(~plain)[0]
    ascii_words, ascii_parents = _words(pc.ascii_split_whitespace(lower.take(pa.array(ascii_rows))))
    other_words, other_parents = _words(pc.utf8_split_whitespace(lower.take(pa.array(other_rows))))
    parents = np.concatenate([ascii_rows[ascii_parents], other_rows[other_parents]])
    order = np.argsort(parents, kind="stable")  # each value's words together again, in value order
    return pa.concat_arrays([ascii_words, other_words]).take(pa.array(order)), parents[order], len(values)


def _words(lists: pa.ListArray) -> tuple[pa.Array, np.ndarray]:
    # trimming spaces too: Arrow leaves a Unicode space after an ASCII one ("\n\u2003") as a word
    words = pc.utf8_trim(lists.flatten(), characters=PUNCTUATION + WHITESPACE)
    parents = lists.value_parent_indices().to_numpy()
    keep = pc.not_equal(words, "").to_numpy(zero_copy_only=False)
    return words.filter(pa.array(keep)), parents[keep]


def joined(words: pa.Array, parents: np.ndarray, count: int) -> pa.Array:
    """Each value's words joined by one space (values with no words drop out)."""
    per_value = np.bincount(parents, minlength=count)
    offsets = np.concatenate([[0], np.cumsum(per_value)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), words)
    return pc.binary_join(lists.filter(pa.array(per_value > 0)), " ")


def grams(words: pa.Array, parents: np.ndarray, longest: int) -> list[pa.Array]:
    """Every run of 1..longest consecutive words that stays inside one value, as joined text."""
    out = [words]
    total = len(words)
    for n in range(2, longest + 1):
        if total < n:
            break
        starts = np.nonzero(parents[: total - n + 1] == parents[n - 1:])[0]
        if not len(starts):
            break
        pieces = [words.take(pa.array(starts + k)) for k in range(n)]
        out.append(pc.binary_join_element_wise(*pieces, " "))
    return out


@dataclass
class Finding:
    kind: str  # original_value_in_output | unchanged_value | duplicate_in_unique | row_count
    column: str  # table.column where it was found
    count: int
    source: str | None = None  # table.column whose original value it is
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class Observation:
    """One batch of one column, reduced to what the leak check needs: no values, only fingerprints."""

    column: str
    unchanged: int = 0
    sensitive: np.ndarray | None = None  # originals that count anywhere
    output: np.ndarray | None = None  # output cells and the word runs inside them
    unique: np.ndarray | None = None  # every non-null output of a UNIQUE column
    spilled: bool = False  # its output fingerprints went to the shared spill directory (a worker's)


@dataclass
class LeakCheck:
    keyring: Keyring
    _sensitive: dict[str, list[np.ndarray]] = field(default_factory=dict)  # column -> its originals' parts
    _spill: OutputSpill = field(default_factory=lambda: OutputSpill())
    _unique_seen: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _unique_rows: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    watched: set[str] = field(default_factory=set)  # columns whose originals are fingerprinted
    kept_in_place: set[str] = field(default_factory=set)  # may-keep columns whose rows cannot be paired
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, column: ColumnInfo, original: pa.Array, output: pa.Array, transformed: bool,
                check_unique: bool = True, may_keep: bool = False) -> None:
        """Take one batch of a column: its original and its output values."""
        self.add(self.look(column, original, output, transformed, check_unique, may_keep))

    def look(self, column: ColumnInfo, original: pa.Array, output: pa.Array, transformed: bool,
             check_unique: bool = True, may_keep: bool = False) -> Observation:
        """What one batch of a column shows, as fingerprints and counts: a pure function of its inputs,
        so it can be computed in another process and added here (`add`). check_unique=False leaves the
        UNIQUE count to a later `observe_unique` (after the uniqueness ledger settled the batch).

        may_keep: the strategy declares that some values come back as they are (`may_keep_value`: scrub
        keeps text without PII, regex text without a match). Those rows are no finding, and only the
        originals it did change are watched elsewhere; the pattern check still reads the column."""
        seen = Observation(column.qualified)
        if transformed:
            if may_keep:
                original = original.filter(_changed(original, output))
            else:
                seen.unchanged = self._same_row(original, output)
            if column.is_text:
                text = original if original.type == pa.string() else pc.cast(original, pa.string())
                seen.sensitive = self._fingerprints(text)
        if column.is_text and output.null_count < len(output):
            seen.output = self._output_fingerprints(output)
        if transformed and check_unique:
            seen.unique = self.unique_fingerprints(column, output)
        return seen

    def spill_directory(self) -> str:
        """Where worker processes put their output fingerprints (OutputSpill); they report `spilled`."""
        return self._spill.share()

    def observe_unique(self, column: ColumnInfo, output: pa.Array) -> None:
        """Count a UNIQUE column's final outputs of one batch (those settled by the uniqueness ledger)."""
        self.add(Observation(column.qualified, unique=self.unique_fingerprints(column, output)))

    def unique_fingerprints(self, column: ColumnInfo, output: pa.Array) -> np.ndarray | None:
        if not column.unique or output.null_count == len(output):
            return None
        non_null = output.drop_null()
        values = non_null if pa.types.is_string(non_null.type) else pc.cast(non_null, pa.string())
        return self._hash(values)

    def add(self, seen: Observation) -> None:
        with self._lock:  # tables may be read side by side (pipeline.run_lanes)
            self._add(seen)

    def _add(self, seen: Observation) -> None:
        column = seen.column
        if seen.unchanged:
            self.unchanged[column] = self.unchanged.get(column, 0) + seen.unchanged
        if seen.sensitive is not None:
            self.watched.add(column)
        if seen.sensitive is not None and len(seen.sensitive):
            parts = self._sensitive.setdefault(column, [])
            parts.append(seen.sensitive)
            if len(parts) >= COMPACT_PARTS:  # repeated originals (a city, a first name) are kept once
                self._sensitive[column] = [sorted_unique(np.concatenate(parts), in_place=True)]
        if seen.output is not None:
            self._spill.add(column, seen.output)
        if seen.spilled:
            self._spill.note(column)
        if seen.unique is not None:
            self._unique_rows[column] = self._unique_rows.get(column, 0) + len(seen.unique)
            self._unique_seen.setdefault(column, []).append(seen.unique)

    @staticmethod
    def _same_row(original: pa.Array, output: pa.Array) -> int:
        return len(original) - (pc.sum(_changed(original, output)).as_py() or 0)

    def _hash(self, texts: pa.Array) -> np.ndarray:
        return keyed_fingerprints(self.keyring, DOMAIN, texts)

    def _fingerprints(self, values: pa.Array) -> np.ndarray:
        """Fingerprints of the distinct normalised originals that count anywhere."""
        return sorted_unique(self._hash(anywhere_forms(_mostly_distinct(values.drop_null()))), in_place=True)

    def _output_fingerprints(self, values: pa.Array) -> np.ndarray:
        """Fingerprints of every output cell and of every run of up to MAX_GRAM words inside it,
        so a name, e-mail or phone number quoted inside free text is found too."""
        distinct = _mostly_distinct(values.drop_null())
        words, parents, count = words_of(distinct)
        pieces = grams(words, parents, MAX_GRAM)  # a cell of up to MAX_GRAM words is one of its runs
        per_value = np.bincount(parents, minlength=count)
        if (per_value > MAX_GRAM).any():
            pieces.append(joined(words, parents, count).filter(pa.array(per_value[per_value > 0] > MAX_GRAM)))
        return sorted_unique(np.concatenate([self._hash(piece) for piece in pieces]), in_place=True)

    def _public_dictionary(self) -> np.ndarray:
        """Fingerprints of public low-entropy values: names and places from Faker's own lists."""
        return self._hash(public_dictionary())

    def _leaks(self) -> list[Finding]:
        """Intersect every column's originals with every output column's fingerprints, one output chunk
        at a time: a shared bitmap picks the few candidates, each column's sorted originals confirm.
        Memory: the distinct originals (8 bytes each) and the bitmap, never a whole output column."""
        public = np.sort(self._public_dictionary())
        originals: dict[str, np.ndarray] = {}
        for column in sorted(self._sensitive):
            values = sorted_unique(np.concatenate(self._sensitive.pop(column)), in_place=True)
            originals[column] = values[~_isin_sorted(values, public)]
        prefilter = Prefilter(expected=sum(len(v) for v in originals.values()))
        for values in originals.values():
            prefilter.add(values)
        found = []
        for column, chunks in self._spill.columns():
            candidates = [prefilter.candidates(chunk) for chunk in chunks]
            if not candidates:
                continue
            distinct = sorted_unique(np.concatenate(candidates), in_place=True)  # count each distinct original once
            for source, values in originals.items():
                if source == column and source in self.kept_in_place:  # its kept values are its originals
                    continue
                hits = int(_isin_sorted(distinct, values).sum())
                if hits:
                    found.append(Finding("original_value_in_output", column, hits, source=source,
                                         detail="distinct original values found in this column"))
        return found

    def findings(self) -> list[Finding]:
        found = [Finding("unchanged_value", col, n, detail="rows whose masked value equals the original")
                 for col, n in sorted(self.unchanged.items())]
        if self._sensitive:
            found += self._leaks()
        for column, parts in sorted(self._unique_seen.items()):
            distinct = len(sorted_unique(np.concatenate(parts), in_place=True))
            dupes = self._unique_rows[column] - distinct
            if dupes:
                found.append(Finding("duplicate_in_unique", column, dupes,
                                     detail="rows whose value repeats in a UNIQUE column"))
        self._spill.close()
        return found




def _changed(original: pa.Array, output: pa.Array) -> pa.Array:
    """Which rows the strategy changed: NULL against a value counts as changed, NULL against NULL too (a
    nulled cell is no kept value), and so does every row of an output that cannot be cast to compare."""
    if original.type != output.type:
        try:
            output = pc.cast(output, original.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return pa.array(np.ones(len(original), bool))
    return pc.fill_null(pc.not_equal(original, output), True)


def _mostly_distinct(values: pa.Array) -> pa.Array:
    """The distinct values when a sample shows repeats (a fake from a pool, a city, a first name), else
    the values as they are: deduplicating all-distinct text (e-mails, addresses) costs more than what
    follows, and fingerprints are deduplicated anyway."""
    if len(values) <= DEDUPLICATE_FROM:
        return pc.unique(values)
    sample = values.take(pa.array(np.linspace(0, len(values) - 1, DEDUPLICATE_FROM).astype(np.int64)))
    return pc.unique(values) if len(pc.unique(sample)) < 0.9 * DEDUPLICATE_FROM else values


def _isin_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which of `values` are in the sorted array `sorted_set`."""
    if not len(sorted_set) or not len(values):
        return np.zeros(len(values), bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[pos] == values


def _chunks(handle: BinaryIO, values: int) -> Iterator[np.ndarray]:
    while data := handle.read(values * 8):
        yield np.frombuffer(data, dtype="<u8")


class OutputSpill:
    """Output fingerprints kept on disk, a file per column and process, so memory stays bounded by one
    column. Worker processes append their own files in the same directory (`share()` names it), so
    fingerprints never travel through the pool's pipe: the parent only learns which columns have some."""

    def __init__(self, directory: str | None = None) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._path = directory  # given: a directory another process owns (this is a worker)
        self._files: dict[str, BinaryIO] = {}
        self._columns: set[str] = set()

    def share(self) -> str:
        """The directory, made now if need be, for workers to write into."""
        if self._path is None:
            self._dir = tempfile.TemporaryDirectory(prefix="sanitizer-leak-")
            self._path = self._dir.name
        return self._path

    def add(self, column: str, fingerprints: np.ndarray) -> None:
        if column not in self._files:
            name = f"{_file_key(column)}-{os.getpid()}.u64"
            self._files[column] = open(Path(self.share()) / name, "ab", buffering=0)  # noqa: SIM115
            self._columns.add(column)
        self._files[column].write(fingerprints.astype("<u8").tobytes())  # unbuffered: on disk when it returns

    def note(self, column: str) -> None:
        """Another process spilled fingerprints of this column here."""
        self._columns.add(column)

    def columns(self, chunk: int = CHUNK_VALUES) -> Iterator[tuple[str, Iterator[np.ndarray]]]:
        """Each column's fingerprints (from every process) as a stream of chunks, so the check never holds a
        whole column."""
        for column in sorted(self._columns):
            paths = sorted(Path(self.share()).glob(f"{_file_key(column)}-*.u64"))
            yield column, (values for path in paths for values in _file_chunks(path, chunk))

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files, self._columns = {}, set()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = self._path = None


def _file_key(column: str) -> str:
    return hashlib.sha256(column.encode()).hexdigest()[:24]


def _file_chunks(path: Path, values: int) -> Iterator[np.ndarray]:
    with open(path, "rb") as handle:
        yield from _chunks(handle, values)


@lru_cache(maxsize=1)
def public_dictionary() -> pa.Array:
    """Lower-cased first and last names, cities, states and countries of every Faker locale, sorted.
    Importing every locale's providers takes about a second, so the list is kept in the pool cache
    (Faker's public word lists only, keyed by Faker's version)."""
    import importlib
    import pkgutil

    from ..strategies import _pool_cache

    cached = _pool_cache.load("leak-public-dictionary", "*", 0)
    if cached is not None:
        return cached
    import faker.providers.address as address
    import faker.providers.person as person

    words: set[str] = set()
    for package, attrs in ((person, ("first_names", "first_names_male", "first_names_female", "last_names")),
                           (address, ("cities", "city_names", "countries", "states", "provinces"))):
        for mod in pkgutil.iter_modules(package.__path__):
            provider = getattr(importlib.import_module(f"{package.__name__}.{mod.name}"), "Provider", None)
            for attr in attrs:
                values = getattr(provider, attr, None)
                if isinstance(values, dict | tuple | list):
                    words.update(str(v).strip().lower() for v in values if isinstance(v, str))
    listed = pa.array(sorted(words), pa.string())
    _pool_cache.store("leak-public-dictionary", "*", 0, listed)
    return listed
