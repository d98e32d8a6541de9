"""deploy/: every example's command really runs a refresh from the demo's SQLite 'production'.

Each test takes an example as shipped, substitutes only paths, URLs and environment values, runs the
command the example holds (the cron line and its wrapper, the systemd ExecStart, the Kubernetes container's
command and args, the Airflow task's bash command) and checks that staging got the tables and the local
audit file this run's record. An example with a wrong flag or path fails here.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import http.server
import json
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import ops_helpers as ops
import pytest
import yaml

CRON = ops.DEPLOY / "cron" / "sanitizer-refresh.cron"
SYSTEMD = ops.DEPLOY / "systemd"
K8S = ops.DEPLOY / "kubernetes" / "cronjob.yaml"
DAG = ops.DEPLOY / "airflow" / "sanitizer_refresh_dag.py"
DEMO_RULES = ops.REPO / "rules" / "demo.yaml"
RUN_ARGS = ["run", "--config", "/etc/sanitizer/staging.yaml"]  # what every example runs
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's SQLite 'production', built by `sanitizer demo` itself."""
    directory = tmp_path_factory.mktemp("demo")
    result = ops.run([sys.executable, "-m", "sanitizer", "demo", "--dir", str(directory)], ops.clean_env(),
                     directory)
    assert result.returncode == 0, result.stderr
    return directory / "prod.db"


@pytest.fixture
def host(tmp_path: Path) -> ops.Host:
    return ops.Host.make(tmp_path / "root", DEMO_RULES)


# --- cron ----------------------------------------------------------------------------------------------


def cron_file() -> tuple[dict[str, str], list[tuple[list[str], str, str]]]:
    """The /etc/cron.d file: its variables, and its jobs as (schedule fields, user, command)."""
    variables, jobs = {}, []
    for line in CRON.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", line):
            name, value = line.split("=", 1)
            variables[name] = value
            continue
        fields = line.split(None, 6)
        assert len(fields) == 7, f"not `m h dom mon dow user command`: {line}"
        jobs.append((fields[:5], fields[5], fields[6]))
    return variables, jobs


def run_cron_job(host: ops.Host, command: str, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The job's command as cron runs it: its SHELL -c, only the cron file's variables plus HOME and LOGNAME."""
    env = {k: host.local(v) for k, v in variables.items() if k != "MAILTO"}
    env |= {"HOME": str(host.state), "LOGNAME": "sanitizer"}
    return ops.run([variables.get("SHELL", "/bin/sh"), "-c", host.local(command)], env, host.state)


def test_cron_file_schedules_the_wrapper_and_the_freshness_check() -> None:
    variables, jobs = cron_file()
    assert variables["SHELL"] == "/bin/bash"  # the wrapper's `|| echo "... $?"` needs no bashism, cron's sh would do
    assert "/opt/sanitizer/venv/bin" in variables["PATH"].split(":")
    assert len(jobs) == 2
    for fields, user, command in jobs:
        assert all(CRON_FIELD.match(f) for f in fields), fields
        assert user == "sanitizer"  # not root
        assert command.startswith("/opt/sanitizer/refresh.sh ") and "/etc/sanitizer/refresh.env" in command
        assert "%" not in command  # cron turns % into newlines
    assert "--status" not in jobs[0][2] and "--status" in jobs[1][2]


def test_cron_refresh_line_runs_the_wrapper_into_postgres(host: ops.Host, prod: Path, pg_url: str) -> None:
    host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=pg_url)
    variables, jobs = cron_file()
    result = run_cron_job(host, jobs[0][2], variables)
    assert result.stdout == "" and result.stderr == "", "a good night mails nothing"
    log = host.root / "var/log/sanitizer/refresh.log"
    records = [json.loads(line) for line in log.read_text().splitlines()]  # SANITIZER_LOG_FORMAT=json: all JSON
    assert any(r.get("event") == "refresh.sh" and "refresh done" in r["message"] for r in records)
    ops.assert_refreshed(pg_url, prod, host.audit_file, result)


def test_cron_refresh_line_mails_one_line_when_the_refresh_fails(host: ops.Host, prod: Path) -> None:
    host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL="postgresql://loader@127.0.0.1:1/staging")
    variables, jobs = cron_file()
    result = run_cron_job(host, jobs[0][2], variables)
    assert result.stdout.startswith("sanitizer refresh failed (exit 3)"), result.stdout
    assert len(result.stdout.splitlines()) == 1


def test_cron_status_line_is_quiet_while_staging_is_fresh_and_mails_when_stale(
        host: ops.Host, prod: Path, pg_url: str) -> None:
    """Needs `sanitizer status --target URL --max-age AGE`."""
    env_file = host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=pg_url)
    variables, jobs = cron_file()
    refresh = ops.run([str(host.root / "opt/sanitizer/refresh.sh"), str(env_file)], ops.clean_env(), host.state)
    assert refresh.returncode == 0, refresh.stderr
    fresh = run_cron_job(host, jobs[1][2], variables)
    assert fresh.stdout == "", fresh.stdout + (host.root / "var/log/sanitizer/refresh.log").read_text()
    host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=pg_url, SANITIZER_MAX_AGE="1s")
    time.sleep(2.1)
    stale = run_cron_job(host, jobs[1][2], variables)
    assert stale.stdout.startswith("staging is stale or unreadable (exit 1)"), stale.stdout


# --- the wrapper's exit codes --------------------------------------------------------------------------


def wrapper(host: ops.Host, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return ops.run([str(host.root / "opt/sanitizer/refresh.sh"), *args], ops.clean_env(**env), host.state)


def test_wrapper_is_strict_bash_that_shellcheck_accepts() -> None:
    script = ops.DEPLOY / "cron" / "refresh.sh"
    assert script.stat().st_mode & 0o111, "refresh.sh must be executable"
    lines = script.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash" and "set -euo pipefail" in lines
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr
    if shutil.which("shellcheck"):
        lint = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True, timeout=60)
        assert lint.returncode == 0, lint.stdout


def break_config(host: ops.Host, prod: Path, target: str, case: str) -> Path:
    env_file = host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=target)
    if case == "unknown option in the config":
        with (host.etc / "staging.yaml").open("a") as f:
            f.write("colour: blue\n")
    elif case == "config names an unset variable":
        env_file.write_text("".join(line + "\n" for line in env_file.read_text().splitlines()
                                    if not line.startswith("STAGING_DB_URL=")))
    elif case == "rules file missing":
        (host.etc / "rules" / "shop.yaml").unlink()
    elif case == "env file missing":
        env_file.unlink()
    elif case == "env file line not KEY=value":
        with env_file.open("a") as f:
            f.write("STAGING_DB_URL = postgresql://loader:hunter2-secret@db/staging\n")
    elif case == "no sanitizer binary":
        with env_file.open("a") as f:
            f.write("SANITIZER_BIN=/nonexistent/bin/sanitizer\n")
    return env_file


@pytest.mark.parametrize("case", ["unknown option in the config", "config names an unset variable",
                                  "rules file missing", "env file missing", "env file line not KEY=value",
                                  "no sanitizer binary"])
def test_wrapper_passes_exit_2_through_for_a_broken_config(host: ops.Host, prod: Path, case: str) -> None:
    target = ops.sqlite_url(host.state / "staging.db")
    env_file = break_config(host, prod, target, case)
    result = wrapper(host, str(env_file))
    assert result.returncode == 2, f"{case}: exit {result.returncode}\n{result.stderr}"
    assert ops.table_counts(target) == {}, "staging was touched"
    assert "hunter2-secret" not in result.stdout + result.stderr
    if case.startswith("config") or case.startswith("unknown") or case.startswith("rules"):
        assert "configuration error (exit 2)" in result.stderr  # sanitizer ran and said 2; the wrapper kept it


def test_wrapper_exit_1_on_findings_keeps_the_last_good_staging(host: ops.Host, prod: Path) -> None:
    target = ops.sqlite_url(host.state / "staging.db")
    env_file = host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=target)
    good = wrapper(host, str(env_file))
    ops.assert_refreshed(target, prod, host.audit_file, good)
    with sqlite3.connect(host.state / "staging.db") as conn:  # mark last night's data
        conn.execute("update customers set first_name = 'last-good' where id = 1")
    rules = host.etc / "rules" / "shop.yaml"  # production grew a column no rule names
    text = rules.read_text()
    rules.write_text(re.sub(r"\n      first_name: \{strategy: fake, kind: first_name\}\n      last_name",
                            "\n      last_name", text, count=1))
    assert rules.read_text() != text
    bad = wrapper(host, str(env_file))
    assert bad.returncode == 1, bad.stderr
    assert "staging untouched" in bad.stderr
    with sqlite3.connect(host.state / "staging.db") as conn:
        assert conn.execute("select first_name from customers where id = 1").fetchone() == ("last-good",)
    counts, expected = ops.table_counts(target), ops.table_counts(ops.sqlite_url(prod))
    assert {t: counts[t] for t in ops.DEMO_TABLES} == {t: expected[t] for t in ops.DEMO_TABLES}
    assert ops.audit_records(host.audit_file)[-1]["exit_code"] == 1


def test_wrapper_exit_3_when_staging_is_unreachable(host: ops.Host, prod: Path) -> None:
    env_file = host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL="postgresql://loader@127.0.0.1:1/stg")
    result = wrapper(host, str(env_file))
    assert result.returncode == 3, result.stderr
    assert "runtime failure (exit 3)" in result.stderr


def test_wrapper_exit_3_while_another_refresh_holds_the_lock(host: ops.Host, prod: Path) -> None:
    target = ops.sqlite_url(host.state / "staging.db")
    env_file = host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=target)
    lock = host.state / "refresh.lock"  # REFRESH_LOCK_FILE of the env file, localized
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = wrapper(host, str(env_file))
    assert result.returncode == 3 and "another refresh holds" in result.stderr, result.stderr
    assert ops.table_counts(target) == {}
    assert wrapper(host, str(env_file)).returncode == 0  # released: the next night runs


def test_wrapper_maps_a_run_killed_by_a_signal_to_3(host: ops.Host, prod: Path, tmp_path: Path) -> None:
    killed = tmp_path / "killed-sanitizer"
    killed.write_text("#!/bin/sh\nkill -KILL $$\n")  # what the OOM killer does to a run
    killed.chmod(0o755)
    env_file = host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL="sqlite:///unused.db",
                             SANITIZER_BIN=str(killed))
    result = wrapper(host, str(env_file))
    assert result.returncode == 3 and "status 137" in result.stderr, result.stderr


class Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append({"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_wrapper_notifies_and_logs_json(host: ops.Host, prod: Path) -> None:
    """Needs `run --notify` (SANITIZER_NOTIFY_URL) and `run --log-format json` (SANITIZER_LOG_FORMAT)."""
    Hook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = ops.sqlite_url(host.state / "staging.db")
        env_file = host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=target,
                                 SANITIZER_NOTIFY_URL=f"http://127.0.0.1:{server.server_port}/hooks/staging")
        result = wrapper(host, str(env_file))
    finally:
        server.shutdown()
        server.server_close()
    ops.assert_refreshed(target, prod, host.audit_file, result)
    lines = (result.stdout + result.stderr).splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines), lines
    assert len(Hook.received) == 1, Hook.received
    hook = Hook.received[0]
    assert hook["path"] == "/hooks/staging" and hook["type"].startswith("application/json")
    assert hook["body"]["exit_code"] == 0 and hook["body"]["status"] == "success", hook["body"]
    assert ops.OPS_KEY not in json.dumps(hook["body"])


# --- systemd -------------------------------------------------------------------------------------------


def unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file as {section: [(key, value), ...]}, repeated keys kept in order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}: {raw}"
        current.append((key.strip(), value.strip()))
    return sections


def one(section: list[tuple[str, str]], key: str) -> str:
    values = [v for k, v in section if k == key]
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def env_file_systemd(path: Path) -> dict[str, str]:
    """An EnvironmentFile= as systemd reads it: KEY=VALUE lines, quotes stripped, # comments."""
    env = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip()[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), f"systemd would not read: {line.split('=')[0]}"
        env[key] = value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'" else value
    return env


def exec_start(host: ops.Host, service: Path) -> tuple[list[str], dict[str, str], Path]:
    """ExecStart= as systemd would start it: argv with ${VAR} expanded, the environment, the working directory."""
    svc = unit(service)["Service"]
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "HOME": str(host.state), "USER": one(svc, "User"), "LOGNAME": one(svc, "User")}
    for key, value in svc:
        if key == "Environment":
            env.update(word.split("=", 1) for word in shlex.split(value))
    for key, value in svc:  # EnvironmentFile= settings win over Environment=
        if key == "EnvironmentFile":
            optional, name = value.startswith("-"), value.lstrip("-")
            path = Path(host.local(name))
            if path.exists() or not optional:
                env.update(env_file_systemd(path))
    argv = []
    for word in shlex.split(host.local(one(svc, "ExecStart").lstrip("-@:+!"))):
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if whole:
            argv.extend(env.get(whole.group(1), "").split())
        else:
            argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word))
    return argv, env, Path(host.local(one(svc, "WorkingDirectory")))


def test_systemd_units_verify(host: ops.Host, tmp_path: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    for path in sorted(SYSTEMD.glob("sanitizer-*")):
        host.write(units / path.name, path.read_text())
    host.env_file()
    names = sorted(p.name for p in units.iterdir())
    assert names == ["sanitizer-refresh.service", "sanitizer-refresh.timer", "sanitizer-status.service",
                     "sanitizer-status.timer"]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # no systemd here: the files parse, and every service has a runnable ExecStart
        for name in names:
            assert unit(units / name)
        for service in units.glob("*.service"):
            argv = shlex.split(one(unit(service)["Service"], "ExecStart"))
            assert Path(argv[0]).is_file(), argv[0]
        return
    result = subprocess.run([analyze, "verify", "--man=no", *(f"./{n}" for n in names)], cwd=units,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr  # unknown keys warn on stderr
    for service in ("sanitizer-refresh.service", "sanitizer-status.service"):
        security = subprocess.run([analyze, "security", "--offline=true", "--no-pager", f"./{service}"], cwd=units,
                                  capture_output=True, text=True, timeout=60)
        level = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
        if level is None and "--offline" in security.stderr:  # systemd older than 250
            continue
        assert level and float(level.group(1)) <= 2.0, security.stdout[-2000:] + security.stderr
    for timer in ("sanitizer-refresh.timer", "sanitizer-status.timer"):
        calendar = one(unit(units / timer)["Timer"], "OnCalendar")
        assert subprocess.run([analyze, "calendar", calendar], capture_output=True, timeout=30).returncode == 0


def test_systemd_units_are_hardened_and_write_only_their_state_directory() -> None:
    config = yaml.safe_load((ops.DEPLOY / "staging.yaml").read_text())
    for name in ("sanitizer-refresh.service", "sanitizer-status.service"):
        svc = unit(SYSTEMD / name)["Service"]
        settings = dict(svc)
        assert settings["Type"] == "oneshot"
        assert settings["User"] not in ("root", "0") and settings["NoNewPrivileges"] == "yes"
        assert settings["ProtectSystem"] == "strict" and settings["ProtectHome"] == "yes"
        assert settings["PrivateTmp"] == "yes" and settings["CapabilityBoundingSet"] == ""
        assert settings["EnvironmentFile"] == "/etc/sanitizer/refresh.env"
        assert "Restart" not in settings  # a failed refresh is read, not repeated
        writable = [f"/var/lib/{d}" for d in settings["StateDirectory"].split()]
        writable += settings.get("ReadWritePaths", "").split()
        assert any(settings["WorkingDirectory"].startswith(w) for w in writable)
    for key in ("report_dir", "audit_file"):  # ProtectSystem=strict: everything else is read-only
        assert any(str(config[key]).startswith(w + "/") for w in writable), (key, config[key], writable)
    assert dict(unit(SYSTEMD / "sanitizer-refresh.service")["Service"])["KillSignal"] == "SIGINT"
    for timer, service in (("sanitizer-refresh.timer", "sanitizer-refresh.service"),
                           ("sanitizer-status.timer", "sanitizer-status.service")):
        settings = unit(SYSTEMD / timer)
        assert one(settings["Timer"], "Unit") == service and (SYSTEMD / service).is_file()
        assert one(settings["Install"], "WantedBy") == "timers.target"


def test_systemd_execstart_refreshes_staging(host: ops.Host, prod: Path, pg_url: str) -> None:
    host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=pg_url)
    argv, env, cwd = exec_start(host, SYSTEMD / "sanitizer-refresh.service")
    assert argv[0] == str(Path(sys.prefix) / "bin" / "sanitizer")
    assert argv[1:] == [*RUN_ARGS[:2], host.local(RUN_ARGS[2])]
    assert env["SANITIZER_LOG_FORMAT"] == "json" and env["SANITIZER_KEY_FILE"].startswith(str(host.etc))
    result = ops.run(argv, env, cwd)
    ops.assert_refreshed(pg_url, prod, host.audit_file, result)
    assert "sanitizer-audit.jsonl" not in {p.name for p in host.etc.iterdir()}  # /etc stays read-only


def test_systemd_status_execstart_passes_while_staging_is_fresh(host: ops.Host, prod: Path, pg_url: str) -> None:
    """Needs `sanitizer status --target URL --max-age AGE`."""
    host.env_file(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=pg_url)
    argv, env, cwd = exec_start(host, SYSTEMD / "sanitizer-refresh.service")
    assert ops.run(argv, env, cwd).returncode == 0
    argv, env, cwd = exec_start(host, SYSTEMD / "sanitizer-status.service")
    assert argv[1:] == ["status", "--target", pg_url, "--max-age", "26h"]
    result = ops.run(argv, env, cwd)
    assert result.returncode == 0, result.stdout + result.stderr


# --- Kubernetes ----------------------------------------------------------------------------------------


def manifests() -> dict[tuple[str, str], dict]:
    docs = [d for d in yaml.safe_load_all(K8S.read_text()) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def pod_spec(cronjob: dict) -> dict:
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_k8s_cronjob_never_overlaps_never_retries_and_keeps_secrets_out() -> None:
    docs = manifests()
    image = ops.image_defaults(ops.REPO / "Dockerfile")
    uid = str(image["user"]).split(":")[0]
    assert uid.isdigit() and uid != "0"
    claims = {name for kind, name in docs if kind == "PersistentVolumeClaim"}
    for name in ("sanitizer-refresh", "sanitizer-status"):
        cronjob = docs[("CronJob", name)]
        assert cronjob["apiVersion"] == "batch/v1"
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
        assert all(CRON_FIELD.match(f) for f in cronjob["spec"]["schedule"].split()), cronjob["spec"]["schedule"]
        assert len(cronjob["spec"]["schedule"].split()) == 5
        assert cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
        pod = pod_spec(cronjob)
        assert pod["restartPolicy"] == "Never"
        assert pod["securityContext"]["runAsNonRoot"] is True and str(pod["securityContext"]["runAsUser"]) == uid
        (container,) = pod["containers"]
        assert container["image"].rsplit("/", 1)[-1].split(":")[0] == "sanitizer"
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        assert {m["name"] for m in container.get("volumeMounts", [])} <= set(volumes)
        for volume in volumes.values():
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
        env = {e["name"]: e for e in container["env"]}
        assert "SANITIZER_KEY" not in env  # the key is a file from a Secret, never a literal
        for name_, entry in env.items():
            if name_.endswith("_URL"):
                assert "secretKeyRef" in entry.get("valueFrom", {}), f"{name_} must come from a Secret"
    refresh = pod_spec(docs[("CronJob", "sanitizer-refresh")])
    (container,) = refresh["containers"]
    env = {e["name"]: e for e in container["env"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    key_volumes = [v for v in refresh["volumes"] if "secret" in v]
    assert len(key_volumes) == 1 and mounts[key_volumes[0]["name"]]["readOnly"] is True
    assert env["SANITIZER_KEY_FILE"]["value"].startswith(mounts[key_volumes[0]["name"]]["mountPath"] + "/")
    assert env["SANITIZER_LOG_FORMAT"]["value"] == "json"
    config = yaml.safe_load((ops.DEPLOY / "staging.yaml").read_text())
    config_volume = next(v for v in refresh["volumes"] if "configMap" in v)
    assert {i["path"] for i in config_volume["configMap"]["items"]} >= {"staging.yaml", *config["rules"]}
    writable = [m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")]
    for key in ("report_dir", "audit_file"):  # readOnlyRootFilesystem: only the mounts are writable
        assert any(str(config[key]).startswith(w + "/") for w in writable), (key, writable)


def k8s_container(cronjob: str, tmp_path: Path, secrets: dict[str, dict[str, str]],
                  config_maps: dict[str, dict[str, str]]) -> tuple[list[str], dict[str, str], Path, dict[str, Path]]:
    """The CronJob's container as the kubelet would start it from the Dockerfile's image, on this machine:
    every volume made a directory (Secrets and ConfigMaps written out), mount paths substituted by them."""
    pod = pod_spec(manifests()[("CronJob", cronjob)])
    (container,) = pod["containers"]
    image = ops.image_defaults(ops.REPO / "Dockerfile")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    dirs = {name: tmp_path / "volumes" / name for name in volumes}
    mounts = {m["mountPath"]: str(dirs[m["name"]]) for m in container.get("volumeMounts", [])}
    for name, volume in volumes.items():
        dirs[name].mkdir(parents=True)
        source = volume.get("configMap") or volume.get("secret")
        if source is None:
            continue
        data = config_maps[source["name"]] if "configMap" in volume else secrets[source["secretName"]]
        for item in source.get("items") or [{"key": k, "path": k} for k in data]:
            path = dirs[name] / item["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(ops.substitute(data[item["key"]], mounts))  # a config names paths as mounted
    # the manifest's own paths are substituted; the test's Secret values are local already
    env = {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "HOME": ops.substitute(str(image["workdir"]), mounts)}
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = ops.substitute(entry["value"], mounts)
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        if ref["key"] in secrets.get(ref["name"], {}):
            env[entry["name"]] = secrets[ref["name"]][ref["key"]]
        else:
            assert ref.get("optional"), f"secret {ref['name']}/{ref['key']} is required"
    command = container.get("command") or image["entrypoint"]
    args = container.get("args") if "args" in container else ([] if "command" in container else image["cmd"])
    argv = [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)),
                   ops.substitute(a, mounts)) for a in [*command, *args]]
    cwd = Path(ops.substitute(container.get("workingDir") or str(image["workdir"]), mounts))
    cwd.mkdir(parents=True, exist_ok=True)
    return argv, env, cwd, {m["mountPath"]: dirs[m["name"]] for m in container.get("volumeMounts", [])}


def tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def k8s_objects(prod: Path, staging: str) -> tuple[dict, dict]:
    secrets = {"sanitizer-key": {"masking.key": ops.OPS_KEY},
               "sanitizer-db": {"PROD_DB_URL": ops.sqlite_url(prod), "STAGING_DB_URL": staging}}
    config_maps = {"sanitizer-config": {"staging.yaml": (ops.DEPLOY / "staging.yaml").read_text(),
                                        "shop.yaml": DEMO_RULES.read_text()}}
    return secrets, config_maps


def test_k8s_container_command_refreshes_staging(prod: Path, tmp_path: Path) -> None:
    staging = tmp_path / "staging.db"
    secrets, config_maps = k8s_objects(prod, ops.sqlite_url(staging))
    argv, env, cwd, mounts = k8s_container("sanitizer-refresh", tmp_path, secrets, config_maps)
    assert argv[1:3] == RUN_ARGS[:2]
    read_only = {path: tree(path) for path in (mounts["/etc/sanitizer"], mounts["/run/secrets/sanitizer"])}
    result = ops.run(argv, env, cwd)
    ops.assert_refreshed(ops.sqlite_url(staging), prod, mounts["/var/lib/sanitizer"] / "audit.jsonl", result)
    assert (mounts["/var/lib/sanitizer"] / "reports" / "report.json").is_file()
    assert {path: tree(path) for path in read_only} == read_only, "wrote into a read-only mount"
    assert all(isinstance(json.loads(line), dict) for line in (result.stdout + result.stderr).splitlines())


def test_k8s_status_container_passes_while_staging_is_fresh(prod: Path, tmp_path: Path, pg_url: str) -> None:
    """Needs `sanitizer status --target URL --max-age AGE`."""
    secrets, config_maps = k8s_objects(prod, pg_url)
    argv, env, cwd, _ = k8s_container("sanitizer-refresh", tmp_path / "refresh", secrets, config_maps)
    assert ops.run(argv, env, cwd).returncode == 0
    argv, env, cwd, _ = k8s_container("sanitizer-status", tmp_path / "status", secrets, config_maps)
    assert argv[1:] == ["status", "--target", pg_url, "--max-age", "26h"]
    result = ops.run(argv, env, cwd)
    assert result.returncode == 0, result.stdout + result.stderr


# --- Airflow -------------------------------------------------------------------------------------------


def dag_calls() -> tuple[dict[str, object], list[ast.Call]]:
    """The DAG file's module-level constants and its calls, without importing Airflow."""
    source = DAG.read_text()
    compile(source, str(DAG), "exec")
    tree_ = ast.parse(source)
    constants = {}
    for node in tree_.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = ast.literal_eval(node.value)
    return constants, [n for n in ast.walk(tree_) if isinstance(n, ast.Call)]


def call_name(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")


def kwargs(call: ast.Call, constants: dict[str, object]) -> dict[str, object]:
    out = {}
    for kw in call.keywords:
        if isinstance(kw.value, ast.Name) and kw.value.id in constants:
            out[kw.arg] = constants[kw.value.id]
        else:
            try:
                out[kw.arg] = ast.literal_eval(kw.value)
            except ValueError:
                out[kw.arg] = ast.unparse(kw.value)
    return out


def test_airflow_dag_runs_one_refresh_at_a_time_without_retries() -> None:
    constants, calls = dag_calls()
    (dag,) = [kwargs(c, constants) for c in calls if call_name(c) == "DAG"]
    assert dag["catchup"] is False and dag["max_active_runs"] == 1
    assert len(dag["schedule"].split()) == 5 and all(CRON_FIELD.match(f) for f in dag["schedule"].split())
    assert dag["default_args"]["retries"] == 0
    (task,) = [kwargs(c, constants) for c in calls if call_name(c) == "BashOperator"]
    command = task["bash_command"]
    assert isinstance(command, str) and "{{" not in command  # rendered as Jinja: no template in it
    assert not command.rstrip().endswith((".sh", ".bash")), "Airflow would read such a command as a template file"
    assert task["retries"] == 0 and task["append_env"] is True
    assert "SANITIZER_KEY" not in task["env"] and task["env"]["SANITIZER_KEY_FILE"].startswith("/etc/sanitizer/")


def test_airflow_bash_command_refreshes_staging(host: ops.Host, prod: Path) -> None:
    constants, calls = dag_calls()
    (task,) = [kwargs(c, constants) for c in calls if call_name(c) == "BashOperator"]
    staging = host.state / "staging.db"
    env = ops.clean_env(PROD_DB_URL=ops.sqlite_url(prod), STAGING_DB_URL=ops.sqlite_url(staging))  # the worker's
    env |= {k: host.local(v) for k, v in task["env"].items()}  # append_env: the task's env over the worker's
    result = ops.run(["bash", "-c", host.local(task["bash_command"])], env, Path(host.local(task["cwd"])))
    ops.assert_refreshed(ops.sqlite_url(staging), prod, host.audit_file, result)


# --- the same refresh everywhere -----------------------------------------------------------------------


def test_every_example_runs_the_same_refresh() -> None:
    env = dict(line.split("=", 1) for line in (ops.DEPLOY / "refresh.env.example").read_text().splitlines()
               if line and not line.startswith("#"))
    wrapper_text = (ops.DEPLOY / "cron" / "refresh.sh").read_text()
    assert '"$bin" run --config "$config"' in wrapper_text and env["SANITIZER_CONFIG"] == RUN_ARGS[2]
    systemd = shlex.split(one(unit(SYSTEMD / "sanitizer-refresh.service")["Service"], "ExecStart"))
    assert systemd[1:] == RUN_ARGS
    (container,) = pod_spec(manifests()[("CronJob", "sanitizer-refresh")])["containers"]
    assert container["args"] == RUN_ARGS
    constants, calls = dag_calls()
    (task,) = [kwargs(c, constants) for c in calls if call_name(c) == "BashOperator"]
    assert shlex.split(task["bash_command"])[1:] == RUN_ARGS
