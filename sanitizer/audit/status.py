"""`sanitizer status`: is staging fresh? The answer a monitor needs, from the tamper-evident audit log.

A nightly refresh that silently stopped is the failure nobody notices: staging keeps its last good data,
so every test still passes against older and older rows. The audit log records every run and load;
the last successful one (exit 0, not a dry run) says how old staging is. Exit 1 when it is older than
--max-age, or when no refresh was ever recorded: that is what to alert on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import ConfigError, FindingsError
from ..urls import parse, redact
from . import db, log
from .commands import Echo, Format, Where, _pick, _time
from .render import parse_duration

REFRESHES = ("run", "load")


class Stale(FindingsError):
    """Staging is older than --max-age, or was never refreshed: exit 1 (the one line says which)."""


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m"


def _summary(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    tables = record.get("tables") if isinstance(record.get("tables"), dict) else {}
    return {"time": _time(record).isoformat(timespec="seconds"), "age_s": round((now - _time(record)).total_seconds()),
            "command": record.get("command"), "actor": record.get("actor"), "environment": record.get("environment"),
            "tables": len(tables), "rows": sum(v for v in tables.values() if isinstance(v, int)),
            "exit_code": record.get("exit_code"), "error": record.get("error"), "hash": record.get("hash")}


def freshness(records: list[dict[str, Any]], environment: str | None, max_age: timedelta | None,
              now: datetime | None = None) -> dict[str, Any]:
    """The last successful refresh, a failed attempt after it, and the verdict."""
    now = now or datetime.now(UTC)
    refreshes = [r for r in records if r.get("command") in REFRESHES and not r.get("dry_run")
                 and (environment is None or r.get("environment") == environment)]
    good = [r for r in refreshes if r.get("exit_code") == 0]
    last = max(good, key=_time) if good else None
    failed = [r for r in refreshes if r.get("exit_code") not in (0, None) and (last is None or _time(r) > _time(last))]
    last_failure = max(failed, key=_time) if failed else None
    if last is None:
        status = "never"
    elif max_age is not None and now - _time(last) > max_age:
        status = "stale"
    else:
        status = "fresh"
    return {"status": status, "last_success": _summary(last, now) if last else None,
            "last_failure": _summary(last_failure, now) if last_failure else None,
            "max_age_s": round(max_age.total_seconds()) if max_age is not None else None}


def status_command(where: Where, file: Path | None, max_age: str | None, environment: str | None, fmt: Format,
                   echo: Echo, *, target_explicit: bool = False) -> None:
    """Print the verdict; raise Stale (exit 1) when staging is stale or was never refreshed."""
    limit = parse_duration(max_age, what="--max-age") if max_age else None
    where = where.resolved()
    url, path = _pick(where, file, target_explicit, "status")
    if path is not None:
        records, place = log.read_file(path), str(path)
    else:
        target = parse(url or "", what="target")
        if target.get_backend_name() != "postgresql":
            raise ConfigError(f"status: {redact(target)} keeps no audit table (only PostgreSQL targets do); "
                              "pass --file with the run's local audit file (sanitizer-audit.jsonl)")
        records, place = db.read_db(target), redact(target)
    found = freshness(records, environment, limit)
    if fmt == "json":
        echo(json.dumps(found, indent=2))
    else:
        last, failure = found["last_success"], found["last_failure"]
        scope = f" for environment {environment}" if environment else ""
        if last is None:
            echo(f"NEVER: no successful refresh of {place}{scope} is recorded in its audit log")
        else:
            word = "STALE" if found["status"] == "stale" else "fresh"
            limit_text = f"; limit {max_age}" if limit is not None else ""
            echo(f"{word}: last refresh {last['time']} ({_age(last['age_s'])} ago{limit_text}) by {last['actor']}, "
                 f"{last['tables']} tables, {last['rows']:,} rows, audit hash {str(last['hash'])[:12]}")
        if failure is not None:
            held = f"the refresh of {last['time']}" if last else "no refreshed data"
            echo(f"warning: the last attempt at {failure['time']} failed (exit {failure['exit_code']}: "
                 f"{failure['error']}); staging still holds {held}", err=True)
    if found["status"] == "never":
        raise Stale(f"status: staging {place} was never refreshed{' for ' + environment if environment else ''}")
    if found["status"] == "stale":
        raise Stale(f"status: staging {place} is stale: last refresh {_age(found['last_success']['age_s'])} ago, "
                    f"more than --max-age {max_age}")
