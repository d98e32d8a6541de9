"""Text in and out of the audit and access commands: durations, `--since`, tables and JSON."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ..errors import ConfigError

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DURATION = re.compile(r"(?P<n>[1-9][0-9]{0,5})(?P<unit>[smhdw])")


def parse_duration(text: str, *, what: str = "--expires") -> timedelta:
    """`30m`, `12h`, `7d`, `2w` -> timedelta.

    Example: parse_duration("7d") == timedelta(days=7)
    """
    match = DURATION.fullmatch(text.strip().lower())
    if not match:
        raise ConfigError(f"{what} {text!r}: use a number and a unit (s, m, h, d, w), e.g. 7d or 12h")
    return timedelta(**{UNITS[match["unit"]]: int(match["n"])})


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """`--since`: a duration back from now (`7d`) or an ISO date/time (`2024-05-01`, UTC when no zone)."""
    if DURATION.fullmatch(text.strip().lower()):
        return (now or datetime.now(UTC)) - parse_duration(text, what="--since")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--since {text!r}: use a duration like 7d or a date like 2024-05-01") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cell(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if name == "target" and isinstance(value, dict):
        value = value.get("database") or value.get("out")
    if name == "hash" and value:
        value = str(value)[:12]
    if name == "what":
        value = record.get("role") or record.get("environment") or record.get("verdict")
    return "" if value is None else str(value)


def format_records(records: list[dict[str, Any]], fmt: Literal["table", "json"] = "table") -> str:
    """`audit show` output: one line per record, or the records as a JSON array."""
    if fmt == "json":
        return json.dumps(records, indent=2, sort_keys=True)
    columns = ("time", "actor", "command", "target", "what", "exit_code", "hash")
    return _table(columns, [[_cell(r, c) for c in columns] for r in records])


def format_access(rows: list[dict[str, Any]], fmt: Literal["table", "json"] = "table") -> str:
    """`access list` output."""
    if fmt == "json":
        return json.dumps(rows, indent=2, sort_keys=True, default=str)
    columns = ("role", "since", "granted_by", "until", "scope", "state")
    body = []
    for row in rows:
        state = ("expired" if row["expired"] else "active") if row["role_exists"] else "role missing"
        scope = row["scope"] if isinstance(row["scope"], str) else ", ".join(row["scope"])
        since = row["since"].strftime("%Y-%m-%d %H:%M") if row["since"] else ""
        until = row["until"].strftime("%Y-%m-%d %H:%M") if row["until"] else "no expiry"
        body.append([row["role"], since, row["granted_by"] or "", until, scope, state])
    return _table(columns, body)


def _table(columns: tuple[str, ...], rows: list[list[str]]) -> str:
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
