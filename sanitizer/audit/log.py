"""The local audit log: one JSON line per run, each holding the hash of the one before.

Records carry identities, digests, counts and verdicts — never a password, key or data value.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def record_hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def last_hash(path: Path) -> str:
    if not path.exists():
        return GENESIS
    last = ""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                last = line
    return json.loads(last)["hash"] if last else GENESIS


def append(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append a record, chained to the previous one; return it as written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    full = {"actor": default_actor(), "host": socket.gethostname(), **record, "prev_hash": last_hash(path)}
    full["hash"] = record_hash(full)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(full, sort_keys=True, default=str) + "\n")
    return full


def verify(path: Path) -> int | None:
    """Line number (1-based) of the first record that breaks the chain, or None when it holds."""
    prev = GENESIS
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("prev_hash") != prev or record_hash(record) != record.get("hash"):
                return number
            prev = record["hash"]
    return None


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
