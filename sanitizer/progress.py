"""What a run says while it works: a live line per table on a terminal, plain lines in a log, or JSON.

A person at a terminal sees each table's rows, rate and time left redrawn in place on stderr. Under cron
or a scheduler (no terminal) each table gets one plain line on stdout when it is done, so a log shows
where the night went. `--log-format json` makes every line one JSON object (for Loki, CloudWatch,
Kubernetes log collectors). Lines name tables and count rows; they never hold a value.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
REDRAW_S = 0.2  # live line: at most five redraws a second


def json_line(event: str, message: str = "", level: str = "info", **fields: Any) -> str:
    record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level, "event": event}
    if message:
        record["message"] = message
    record.update(fields)
    return json.dumps(record, default=str, ensure_ascii=False)


def level_of(message: str) -> str:
    head = message.split(":", 1)[0].strip()
    return head if head in ("error", "warning") else "info"


def make_echo(fmt: LogFormat, echo):
    """The commands' echo(message, err=False), as JSON lines when asked; the stream stays the same."""
    if fmt != "json":
        return echo

    def json_echo(message: str = "", err: bool = False, **_: Any) -> None:
        for line in str(message).splitlines() or [""]:
            echo(json_line("message", line, level_of(line)), err=err)

    return json_echo


class Progress:
    """Per-table progress. Callable with a plain message, like the older `say` callbacks."""

    def __init__(self, fmt: LogFormat = "text", tty: bool | None = None,
                 out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.fmt = fmt
        self.err, self.out = err or sys.stderr, out or sys.stdout
        self.live = fmt == "text" and (self.err.isatty() if tty is None else tty)
        self.expected: dict[str, int] = {}
        self._drawn = 0.0
        self._width = 0
        self._lock = threading.Lock()

    def expect(self, rows: dict[str, int]) -> None:
        """Row estimates by table (PostgreSQL's planner statistics), for the time left."""
        self.expected = {t: n for t, n in rows.items() if n > 0}

    def __call__(self, message: str) -> None:
        with self._lock:
            if self.fmt == "json":
                print(json_line("message", message, level_of(message)), file=self.err, flush=True)
            elif self.live:
                self._clear()
                print(message, file=self.err, flush=True)
            else:
                print(message, file=self.out, flush=True)

    def advance(self, table: str, rows: int, elapsed: float) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if now - self._drawn < REDRAW_S:
            return
        with self._lock:
            self._drawn = now
            rate = rows / max(elapsed, 1e-6)
            expected = self.expected.get(table)
            tail = ""
            if expected and expected > rows and rate > 0:
                tail = f", ~{(expected - rows) / rate:,.0f} s left"
            shown = f"{rows:,}" + (f" of ~{expected:,}" if expected else "")
            self._draw(f"{table}: {shown} rows ({rate:,.0f} rows/s{tail})")

    def done(self, table: str, rows: int, seconds: float) -> None:
        rate = rows / max(seconds, 1e-6)
        with self._lock:
            if self.fmt == "json":
                print(json_line("table_done", table=table, rows=rows, seconds=round(seconds, 3),
                                rows_per_s=round(rate)), file=self.err, flush=True)
                return
            line = f"{table}: {rows:,} rows in {seconds:.1f} s ({rate:,.0f} rows/s)"
            if self.live:
                self._clear()
                print(line, file=self.err, flush=True)
            else:
                print(line, file=self.out, flush=True)

    def _draw(self, text: str) -> None:
        pad = max(0, self._width - len(text))
        self.err.write("\r" + text + " " * pad)
        self.err.flush()
        self._width = len(text)

    def _clear(self) -> None:
        if self._width:
            self.err.write("\r" + " " * self._width + "\r")
            self._width = 0
