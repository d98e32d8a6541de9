"""Audit records and their hash chain, shared by the local JSONL file and the table in the target database.

A record is a flat JSON object. `seal(record, prev_hash)` normalises it (every standard field present,
types fixed, time in one canonical form, plain JSON values only) and adds `prev_hash` and `hash`, where
`hash = sha256(canonical JSON of everything but "hash")`. The same sealed dict is what the file stores
on one line and what `sanitizer_audit.events` stores in its columns, so `verify_records` checks either.

Records carry identities, digests, counts and verdicts — never a password, key or data value.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import socket
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

GENESIS = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

FieldType = Literal["text", "int", "float", "json"]
# The standard fields, in column order; everything else a record carries goes to `details`.
FIELDS: dict[str, FieldType] = {
    "time": "text", "actor": "text", "host": "text", "command": "text", "source": "json", "target": "json",
    "rules_digest": "text", "key_fingerprint": "text", "tables": "json", "verdict": "text", "findings": "int",
    "duration_s": "float", "exit_code": "int", "tool_version": "text",
}
CHAIN_FIELDS = ("prev_hash", "hash")


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the record without its own hash."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def canonical_time(value: object) -> str:
    """Any datetime or ISO 8601 string as UTC with microseconds: what a timestamptz gives back."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def _plain(value: Any) -> Any:
    """JSON values only; floats PostgreSQL's jsonb would give back as integers become integers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and abs(value) >= 1e16:
        return int(value)
    return value


def normalize(record: dict[str, Any]) -> dict[str, Any]:
    """The record as it will be stored: plain JSON, every standard field present, typed, defaults filled."""
    body = json.loads(json.dumps(record, default=str, allow_nan=False))
    for name in CHAIN_FIELDS:
        body.pop(name, None)
    body.setdefault("actor", default_actor())
    body.setdefault("host", socket.gethostname())
    body["time"] = canonical_time(body.get("time") or datetime.now(UTC))
    for name, kind in FIELDS.items():
        value = body.get(name)
        if value is not None and kind != "json":
            value = {"text": str, "int": int, "float": float}[kind](value)
        body[name] = value
    return _plain(body)


def seal(record: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """Normalise the record and chain it to `prev_hash`; return the dict to store."""
    full = {**normalize(record), "prev_hash": prev_hash}
    full["hash"] = record_hash(full)
    return full


def verify_records(records: Iterable[dict[str, Any]]) -> int | None:
    """Index (0-based) of the first record that was changed, deleted before or moved; None when all hold.

    A changed record fails its own hash; a deleted or reordered one breaks the next record's `prev_hash`.
    Records removed from the end leave no trace in the chain itself: compare the head with a copy kept
    elsewhere (see docs/access-and-audit.md).
    """
    prev = GENESIS
    for index, record in enumerate(records):
        if record.get("prev_hash") != prev or record_hash(record) != record.get("hash"):
            return index
        prev = record["hash"]
    return None


# --- the local file ------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # two processes appending at once must not fork the chain
        try:
            yield fh
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                yield number, line


def last_hash(path: Path) -> str:
    if not path.exists():
        return GENESIS
    last = ""
    for _, line in _lines(path):
        last = line
    return json.loads(last)["hash"] if last else GENESIS


def append(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append a record to the file, chained to the previous one; return it as written."""
    with _locked(path) as fh:
        full = seal(record, last_hash(path))
        fh.write(json.dumps(full, sort_keys=True) + "\n")
    return full


def read_file(path: Path) -> list[dict[str, Any]]:
    """Every record in the file, in order (a line that is not JSON is skipped here; verify reports it)."""
    records = []
    for _, line in _lines(path):
        with contextlib.suppress(json.JSONDecodeError):
            records.append(json.loads(line))
    return records


def verify_file(path: Path) -> int | None:
    """Line number (1-based) of the first record that breaks the chain, or None when it holds."""
    numbered: list[tuple[int, dict[str, Any]]] = []
    for number, line in _lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = {}
        numbered.append((number, record if isinstance(record, dict) else {}))
    broken = verify_records(record for _, record in numbered)
    return None if broken is None else numbered[broken][0]


verify = verify_file  # the name the first version used


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
