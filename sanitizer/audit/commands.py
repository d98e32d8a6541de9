"""What `audit show/verify` and `access grant/revoke/list` do, between click's parsing and the audit library.

Output goes through `echo` (stdout; `err=True` for notes and warnings). A generated password is echoed
once to stdout and goes nowhere else: not into the local audit file, not into the target's audit table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ..config import load_config
from ..errors import ConfigError, FindingsError
from ..urls import identity, parse, redact
from . import access, db, log, render

Echo = Callable[..., None]
Format = Literal["table", "json"]
DEFAULT_AUDIT_FILE = "sanitizer-audit.jsonl"


@dataclass
class Where:
    """The target (and the local audit file and actor) an audit or access command works on."""

    target: str | None = None
    config: Path | None = None
    audit_file: Path | None = None
    actor: str | None = None

    def resolved(self) -> Where:
        """Fill what the command line left out from --config; the audit file defaults beside it (else cwd)."""
        found = load_config(self.config) if self.config else None
        target = self.target or (found.target if found else None)
        audit_file = self.audit_file or (found.audit_file if found else None) or (
            (self.config.parent if self.config else Path.cwd()) / DEFAULT_AUDIT_FILE)
        actor = self.actor or (found.actor if found else None) or log.default_actor()
        return Where(target, self.config, audit_file, actor)

    def url(self, command: str) -> str:
        if not self.target:
            raise ConfigError(f"{command}: no target; pass --target URL, set SANITIZER_TARGET_URL or use --config")
        return self.target


# --- audit ---------------------------------------------------------------------------------------


def _pick(where: Where, file: Path | None, target_explicit: bool, command: str) -> tuple[str | None, Path | None]:
    """Exactly one of --target / --file; a target from the environment or --config yields to --file."""
    if file is not None:
        if target_explicit:
            raise ConfigError(f"{command}: give one of --target URL or --file F, not both")
        if not file.is_file():
            raise ConfigError(f"{command} --file {file}: no such file")
        return None, file
    return where.url(command), None


def audit_show(where: Where, file: Path | None, since: str | None, fmt: Format, echo: Echo, *,
               target_explicit: bool = False) -> None:
    """`sanitizer audit show`: the records, oldest first, since a time when given."""
    where = where.resolved()
    url, path = _pick(where, file, target_explicit, "audit show")
    moment = render.parse_since(since) if since else None
    if path is not None:
        records = [r for r in log.read_file(path) if moment is None or _time(r) >= moment]
    else:
        records = db.read_db(url or "", moment)
    if fmt == "table" and not records:
        echo("no audit records" + (f" since {moment.isoformat(timespec='seconds')}" if moment else ""))
        return
    echo(render.format_records(records, fmt))


def _time(record: dict[str, Any]) -> datetime:
    with contextlib.suppress(ValueError, TypeError):
        return datetime.fromisoformat(log.canonical_time(record.get("time")))
    return datetime.min.replace(tzinfo=UTC)


def audit_verify(where: Where, file: Path | None, echo: Echo, *, target_explicit: bool = False) -> None:
    """`sanitizer audit verify`: one OK line with the count and head, or FindingsError naming the first break."""
    where = where.resolved()
    url, path = _pick(where, file, target_explicit, "audit verify")
    broken_tail = ("was changed, or a record before it was deleted or moved; "
                   "every record from there on is unproven (docs/access-and-audit.md)")
    if path is not None:
        line = log.verify_file(path)
        if line is not None:
            raise FindingsError(f"audit verify: {path} line {line}: the hash chain breaks here: this record "
                                + broken_tail)
        records = log.read_file(path)
        place = str(path)
    else:
        with db.begin(url or "", "audit verify: reading the audit table") as conn:
            present = db.exists(conn)
            rows = db.rows_in(conn)
        broken = log.verify_records(record for _, record in rows)
        place = f"{redact(parse(url or '', what='target'))} sanitizer_audit.events"
        if broken is not None:
            raise FindingsError(f"audit verify: {place}: record id {rows[broken][0]}: the hash chain breaks here: "
                                "this record " + broken_tail)
        if not present:
            echo(f"ok: 0 records; {place} does not exist (no run or grant has been recorded there)")
            return
        records = [record for _, record in rows]
    head = str(records[-1].get("hash", ""))[:12] if records else "none"
    echo(f"ok: {len(records)} records, hash chain intact (head {head}) in {place}")


# --- access --------------------------------------------------------------------------------------


def _append_file(where: Where, record: dict[str, Any], echo: Echo) -> None:
    """The local copy of an access record; a failure here must not hide that the database changed."""
    assert where.audit_file is not None
    try:
        log.append(where.audit_file, record)
    except OSError as exc:
        echo(f"warning: could not append to the local audit file {where.audit_file}: {exc.strerror}; "
             "the record is in the target's sanitizer_audit.events", err=True)


def access_grant(where: Where, role: str, expires: str | None, tables: list[str], echo: Echo) -> None:
    """`sanitizer access grant`: create/update the role, print a generated password once, audit it."""
    where = where.resolved()
    url = where.url("access grant")
    access.check_role_name(role)
    valid_for = render.parse_duration(expires) if expires else None
    result = access.grant(url, role, valid_for, tables or None, actor=where.actor)
    password = result.pop("password", None)
    scope = "all tables" if result["scope"] == "all" else ", ".join(result["scope"])
    until = f"until {result['expires']}" if result["expires"] else "with no expiry"
    echo(f"{'created' if result['created'] else 'updated'} role {role}: read-only on {scope}, {until}")
    if password is not None:
        echo(f"password: {password}")
        echo("the password is shown only this once and is not logged or audited; store it now", err=True)
    elif result["created"] is False:
        echo("the role keeps its password", err=True)
    for warning in result["warnings"]:
        echo(f"warning: {warning}", err=True)
    if not result["log_statement"]:
        echo(f"warning: could not set log_statement = 'all' for {role} (needs a superuser); the server will not "
             "log the role's statements", err=True)
    _append_file(where, {"command": "access grant", "actor": where.actor,
                         "target": identity(parse(url, what="target")), **result}, echo)


def access_revoke(where: Where, role: str, echo: Echo) -> None:
    """`sanitizer access revoke`: take the role's access (and drop it), audited."""
    where = where.resolved()
    url = where.url("access revoke")
    result = access.revoke(url, role, actor=where.actor)
    echo(f"revoked {role}: " + ("privileges removed, role dropped" if result["dropped"] else
                                "privileges removed here; the role still exists (it has access elsewhere "
                                "or was already gone)"))
    _append_file(where, {"command": "access revoke", "actor": where.actor,
                         "target": identity(parse(url, what="target")), **result}, echo)


def access_list(where: Where, fmt: Format, echo: Echo) -> None:
    """`sanitizer access list`: who may read staging, since and until when."""
    rows = access.list_access(where.resolved().url("access list"))
    if fmt == "table" and not rows:
        echo("no access granted")
        return
    echo(render.format_access(rows, fmt))
