"""Helpers for the deploy/ examples' tests: a fake host layout, path substitution, run assertions.

The examples name production paths (/etc/sanitizer, /var/lib/sanitizer, /opt/sanitizer/venv, ...). A test
copies an example, substitutes only those paths (and URLs and environment values), runs the command it
holds, and checks that a refresh really happened.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DEMO_TABLES = {"addresses", "customers", "employees", "orders", "support_tickets"}
OPS_KEY = "ops-test-key-0123456789abcdef"  # this environment's key, written to the key file
ACTOR = "nightly-refresh"  # deploy/staging.yaml's actor


@dataclass
class Host:
    """A production-like file layout under a temporary root, and the map from the examples' paths to it."""

    root: Path
    prefix: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(cls, root: Path, rules: Path) -> Host:
        host = cls(root)
        host.prefix = {  # longest first: /opt/sanitizer/venv before /opt/sanitizer
            "/opt/sanitizer/venv": sys.prefix,  # the venv these tests run in holds the `sanitizer` command
            "/opt/sanitizer": str(root / "opt/sanitizer"),
            "/etc/sanitizer": str(root / "etc/sanitizer"),
            "/var/lib/sanitizer": str(root / "var/lib/sanitizer"),
            "/var/log/sanitizer": str(root / "var/log/sanitizer"),
            "/run/secrets/sanitizer": str(root / "run/secrets/sanitizer"),
        }
        for path in ("opt/sanitizer", "etc/sanitizer/rules", "var/lib/sanitizer", "var/log/sanitizer"):
            (root / path).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rules, host.etc / "rules" / "shop.yaml")
        host.write(host.etc / "staging.yaml", (DEPLOY / "staging.yaml").read_text())
        host.etc.joinpath("staging.key").write_text(OPS_KEY + "\n")
        wrapper = root / "opt/sanitizer/refresh.sh"
        shutil.copyfile(DEPLOY / "cron" / "refresh.sh", wrapper)
        wrapper.chmod(0o755)
        return host

    @property
    def etc(self) -> Path:
        return self.root / "etc/sanitizer"

    @property
    def state(self) -> Path:
        return self.root / "var/lib/sanitizer"

    @property
    def audit_file(self) -> Path:
        return self.state / "audit.jsonl"

    def local(self, text: str) -> str:
        """The text with every example path replaced by its place under the root."""
        return substitute(text, self.prefix)

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.local(text))
        return path

    def env_file(self, **values: str) -> Path:
        """deploy/refresh.env.example at /etc/sanitizer/refresh.env, its paths local, `values` set in it."""
        lines, seen = [], set()
        for line in self.local((DEPLOY / "refresh.env.example").read_text()).splitlines():
            name = line.split("=", 1)[0].lstrip("#").strip() if "=" in line else None
            if name in values:
                if name not in seen:
                    lines.append(f"{name}={values[name]}")
                    seen.add(name)
                continue
            lines.append(line)
        lines += [f"{k}={v}" for k, v in values.items() if k not in seen]
        path = self.etc / "refresh.env"
        path.write_text("\n".join(lines) + "\n")
        return path


def substitute(text: str, prefix: dict[str, str]) -> str:
    """Replace each key of `prefix` (a path) by its value, longest first, in one pass."""
    pattern = re.compile("|".join(re.escape(p) for p in sorted(prefix, key=len, reverse=True)))
    return pattern.sub(lambda m: prefix[m.group(0)], text)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any SANITIZER_* setting, the venv's bin first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANITIZER_")}
    env["PATH"] = f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def table_counts(url: str) -> dict[str, int]:
    """Row count of every table of the target's default schema (SQLite file or PostgreSQL database)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return {}
        with sqlite3.connect(path) as conn:
            names = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
            return {n: conn.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    parsed = sa.engine.make_url(url)
    if parsed.drivername == "postgresql":  # sanitizer's URLs name no driver; SQLAlchemy's default is psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(parsed)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names(schema="public")
            return {n: conn.execute(sa.text(f'select count(*) from public."{n}"')).scalar_one() for n in names}
    finally:
        engine.dispose()


def audit_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def assert_refreshed(target: str, prod: Path, audit_file: Path, result: subprocess.CompletedProcess[str]) -> None:
    """The run exited 0, staging holds every demo table with production's row counts, the local audit
    file ends with this run's record."""
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    expected = table_counts(sqlite_url(prod))
    got = table_counts(target)
    assert {t: got.get(t) for t in DEMO_TABLES} == {t: expected[t] for t in DEMO_TABLES}
    records = audit_records(audit_file)
    assert records, f"no audit record in {audit_file}"
    last = records[-1]
    assert last["exit_code"] == 0 and last["verdict"] == "pass" and last["actor"] == ACTOR, last
    assert OPS_KEY not in audit_file.read_text()


def parse_dockerfile(path: Path) -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments), continuation lines joined."""
    stages: list[list[tuple[str, str]]] = [[]]
    logical, buf = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    for line in logical:
        op, _, args = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            stages.append([])
        stages[-1].append((op, args.strip()))
    return stages  # stages[0]: what comes before the first FROM (global ARGs)


def final_stage(path: Path) -> list[tuple[str, str]]:
    return parse_dockerfile(path)[-1]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def image_defaults(path: Path) -> dict[str, object]:
    """ENTRYPOINT, CMD, WORKDIR and USER of the image the Dockerfile builds."""
    out: dict[str, object] = {"entrypoint": [], "cmd": [], "workdir": "/", "user": "root"}
    for op, args in final_stage(path):
        if op == "ENTRYPOINT":
            out["entrypoint"] = exec_form(args)
        elif op == "CMD":
            out["cmd"] = exec_form(args)
        elif op == "WORKDIR":
            out["workdir"] = args
        elif op == "USER":
            out["user"] = args
    return out
