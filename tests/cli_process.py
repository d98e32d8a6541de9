"""The sanitizer CLI as a separate process, for tests that kill it mid-run (fault injection)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path


def start_run(source: str, target: str, rules: Path, cwd: Path, key: str) -> subprocess.Popen[str]:
    """`sanitizer run` in its own process group, output to cwd/run.log: a pipe would stay open as long as
    any worker process the run started lives on, and the group lets the test clean up after a SIGKILL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANITIZER_KEY")}
    env["SANITIZER_KEY"] = key
    log = (cwd / "run.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "sanitizer", "run", "--source", source, "--target", target,
                             "--rules", str(rules)], stdout=log, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=cwd, start_new_session=True)


def end_group(proc: subprocess.Popen[str]) -> None:
    """Kill whatever of the run's process group is left (workers, psql) and reap the run."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
