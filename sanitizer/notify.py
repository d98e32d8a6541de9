"""`--notify URL`: after every run, success or not, POST a JSON summary to a webhook (Slack/Teams relay,
PagerDuty, an internal alerting service). The summary holds counts, names and the verdict, never a value.

A webhook that fails never changes the run's outcome or exit code: staging is already swapped or kept.
The URL often carries a token in its path, so messages name only its scheme and host.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .errors import ConfigError, SanitizerError
from .progress import json_line, make_echo
from .urls import identity, parse

Echo = Callable[..., None]

TIMEOUT_S = 10.0
STATUS_BY_CODE = {0: "success", 1: "findings", 2: "config_error", 3: "failed"}


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("--notify: give an http:// or https:// URL (or set SANITIZER_NOTIFY_URL)")
    return url


def where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def run_summary(report, code: int, error: BaseException | None, environment: str | None,
                audit_hash: str | None, command: str = "run") -> dict[str, Any]:
    """The run (or load) in one JSON object: what the webhook receives and what `--log-format json` ends with."""
    utility, risk = report.utility or {}, report.risk or {}
    return {
        "event": f"sanitizer.{command}", "status": STATUS_BY_CODE.get(code, "failed"), "exit_code": code,
        "started_at": report.started_at or None, "duration_s": round(report.duration_s, 3),
        "dry_run": report.dry_run, "environment": environment,
        "source": {k: v for k, v in report.source.items() if k != "server"},
        "target": {k: v for k, v in report.target.items() if k != "server"},
        "tables": len(report.tables), "rows": report.rows, "columns_masked": report.columns_masked,
        "verdict": report.verdict, "findings": len(report.findings),
        "finding_kinds": sorted({f.kind for f in report.findings}),
        "utility": utility.get("score"), "smallest_k": risk.get("smallest_k"),
        "error": (str(error) or type(error).__name__) if error is not None else None,
        "audit_hash": audit_hash, "key_fingerprint": report.key_fingerprint, "tool_version": __version__,
    }


def post(url: str, payload: dict[str, Any]) -> str | None:
    """POST the payload; None when delivered, else why not (one line, no secret)."""
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": f"sanitizer/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()
        return None
    except urllib.error.HTTPError as exc:
        return f"--notify: {where(url)} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"--notify: cannot reach {where(url)} ({type(reason).__name__}: {str(reason)[:120]})"


def failure_summary(command: str, error: BaseException, environment: str | None, source: str | None,
                    target: str | None) -> dict[str, Any]:
    """A command stopped before it began (bad rules, no key, refused target): what the webhook still learns."""
    code = error.exit_code if isinstance(error, SanitizerError) else 3
    message = str(error) if isinstance(error, SanitizerError) else f"internal error: {type(error).__name__}"
    return {"event": f"sanitizer.{command}", "status": STATUS_BY_CODE.get(code, "failed"), "exit_code": code,
            "error": message, "environment": environment, "source": _identity(source, "source"),
            "target": _identity(target, "target")}


def _identity(url: str | None, what: str) -> dict[str, Any] | None:
    try:
        return identity(parse(url, what=what)) if url else None
    except SanitizerError:
        return None


def announce(url: str | None, log_format: str, summary: dict[str, Any], echo: Echo) -> None:
    """The last JSON log line, and the webhook; a webhook that fails is a warning only."""
    if log_format == "json":
        fields = {k: v for k, v in summary.items() if k != "event"}
        print(json_line(f"{summary['event'].removeprefix('sanitizer.')}_finished", **fields), flush=True)
    if url is not None:
        problem = post(url, summary)
        if problem:
            echo(f"warning: {problem}; the run's outcome stands", err=True)


def announced(command: str, notify: str | None, log_format: str, echo: Echo,
              body: Callable[[Echo, dict[str, Any]], int],
              on_failure: Callable[[BaseException], dict[str, Any]]) -> int:
    """Run a nightly command's body with JSON lines if asked, then announce its outcome, whatever it was.
    The body puts its summary in the dict it is given once its audit record is written."""
    say = make_echo(log_format, echo)
    url = check_url(notify) if notify else None
    done: dict[str, Any] = {}
    try:
        code = body(say, done)
    except (Exception, KeyboardInterrupt) as exc:  # a refused start, a failure, a bug, an interrupt
        announce(url, log_format, done.get("summary") or on_failure(exc), say)
        raise
    announce(url, log_format, done["summary"], say)
    return code
