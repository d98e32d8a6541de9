"""The Dockerfile: built and run for real when a Docker daemon answers; its install replayed when none does.

Without a daemon, the build context is made the way Docker makes it (.dockerignore), the files the build
stage COPYs are put in an empty directory, a wheel is built from them alone (compiling the C extensions)
and installed into a fresh venv, whose `sanitizer --version` and `sanitizer demo` must work. Every
third-party module the package imports must be a declared dependency, as the image installs nothing else.

SANITIZER_TEST_PYTHON_IMAGE names another base image (a mirror of python:3.11-slim) for the real build,
SANITIZER_TEST_DOCKER_NETWORK a network for its RUN steps (e.g. host).
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import ops_helpers as ops
import pytest
import yaml

DOCKERFILE = ops.REPO / "Dockerfile"
DOCKERIGNORE = ops.REPO / ".dockerignore"
VERSION = tomllib.loads((ops.REPO / "pyproject.toml").read_text())["project"]["version"]
IMAGE = "sanitizer:ops-test"


def stages() -> list[list[tuple[str, str]]]:
    return ops.parse_dockerfile(DOCKERFILE)


def test_dockerfile_builds_in_a_stage_and_runs_sanitizer_as_non_root_without_secrets() -> None:
    preamble, *built = stages()
    assert len(built) >= 2, "a build stage and a runtime stage"
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim") in preamble
    for stage in built:
        assert stage[0][0] == "FROM" and stage[0][1].split()[0] == "${PYTHON_IMAGE}"
    build, runtime = built[0], built[-1]
    assert any(op == "RUN" and "gcc" in args for op, args in build)
    assert not any(op == "RUN" and re.search(r"\b(gcc|build-essential)\b", args) for op, args in runtime)
    assert any(op == "COPY" and args.startswith("--from=") for op, args in runtime)
    image = ops.image_defaults(DOCKERFILE)
    assert image["entrypoint"] == ["sanitizer"]
    uid, _, gid = str(image["user"]).partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit(), "numeric non-root USER, for runAsNonRoot"
    for op, args in (item for stage in [preamble, *built] for item in stage):
        assert not (op in ("ENV", "ARG") and "SANITIZER_KEY" in args), f"{op} {args}: no key in the image"
    assert not any(op == "COPY" and re.search(r"\.key\b|\.env\b|secret", args) for op, args in runtime)


# --- the build context and the build stage's COPYs, without a daemon -----------------------------------


def ignore_patterns() -> list[tuple[bool, str]]:
    out = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        out.append((negate, line.lstrip("!").strip("/")))
    return out


def _match(pattern: str, path: str) -> bool:
    """Docker's pattern match on a slash path: `*` and `?` stay in one segment, `**` spans any, [...] a class."""
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i:]:
            close = pattern.index("]", i)
            regex, i = regex + "[" + pattern[i + 1:close].replace("!", "^", 1) + "]", close + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.fullmatch(regex, path) is not None


def in_context(rel: str, patterns: list[tuple[bool, str]]) -> bool:
    """Whether .dockerignore lets `rel` into the build context: the last pattern matching the path or one
    of its parent directories decides."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    included = True
    for negate, pattern in patterns:
        if any(_match(pattern, p) for p in prefixes):
            included = negate
    return included


def context_files() -> set[str]:
    patterns = ignore_patterns()
    out = set()
    for path in ops.REPO.rglob("*"):
        rel = path.relative_to(ops.REPO).as_posix()
        if rel.startswith((".git/", ".venv/")):  # left out below anyway; not worth walking
            continue
        if path.is_file() and in_context(rel, patterns):
            out.add(rel)
    return out


def build_stage_copies() -> list[tuple[list[str], str]]:
    _, *built = stages()
    out = []
    for op, args in built[0]:
        if op == "COPY" and not args.startswith("--"):
            *sources, dest = args.split()
            out.append((sources, dest))
    return out


def test_dockerignore_keeps_the_venv_git_tests_and_caches_out_and_the_copies_in() -> None:
    patterns = ignore_patterns()
    for rel in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "tests/ops/test_dockerfile.py",
                "sanitizer-demo/prod.db", "sanitizer/__pycache__/cli.cpython-311.pyc", ".pytest_cache/README.md",
                ".ruff_cache/x", "sanitizer/_native.cpython-311-x86_64-linux-gnu.so", "sanitizer.egg-info/PKG-INFO",
                "reports/report.json", "sanitizer-audit.jsonl", "deploy/refresh.env.example", "staging.key"):
        assert not in_context(rel, patterns), f"{rel} would be sent to the daemon"
    files = context_files()
    for sources, _ in build_stage_copies():
        for source in sources:
            assert source.rstrip("/") in files or any(f.startswith(source.rstrip("/") + "/") for f in files), \
                f"COPY {source}: excluded by .dockerignore"
    assert {"pyproject.toml", "sanitizer/cli.py", "sanitizer/_native.c", "sanitizer/_pgcopy.c"} <= files


def test_the_copied_files_alone_build_a_wheel_with_the_c_extensions_that_runs(tmp_path: Path) -> None:
    files = context_files()
    _, *built = stages()
    workdir = next(args for op, args in built[0] if op == "WORKDIR")
    root = tmp_path / "image"
    src = root / workdir.lstrip("/")
    for sources, dest in build_stage_copies():  # COPY, replayed on the context's files only
        target = src / dest
        for source in sources:
            stem = source.rstrip("/")
            if stem in files:  # a file: into dest/ or as dest
                chosen = {stem: target / Path(stem).name if dest.endswith("/") else target}
            else:  # a directory: its contents into dest
                chosen = {f: target / Path(f).relative_to(stem) for f in files if f.startswith(stem + "/")}
            assert chosen, f"COPY {source}: nothing in the build context"
            for rel, out in chosen.items():
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ops.REPO / rel, out)
    wheels = tmp_path / "wheels"
    env = ops.clean_env()
    built_wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(wheels),
                                  str(src)], capture_output=True, text=True, env=env, timeout=300)
    assert built_wheel.returncode == 0, built_wheel.stderr[-3000:]
    (wheel,) = wheels.glob("sanitizer-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    # the dependencies, from this venv's site-packages (a line in a .pth runs none of that directory's .pth files,
    # so the checkout's editable install stays out)
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "sqlalchemy").is_dir())
    (site / "zz-deps.pth").write_text(f"{deps}\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                                "--no-index", str(wheel)], capture_output=True, text=True, env=env, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    check = subprocess.run([str(py), "-I", "-c", "import sanitizer, sanitizer._native, sanitizer._pgcopy, "
                            "sanitizer.demo as d; print(sanitizer.__file__); print(d.RULES)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert check.returncode == 0, check.stderr  # a failed compile would leave the optional modules out
    package, rules = check.stdout.splitlines()
    assert Path(package).is_relative_to(venv), package
    version = subprocess.run([str(venv / "bin" / "sanitizer"), "--version"], capture_output=True, text=True,
                             cwd=tmp_path, env=env, timeout=120)
    assert version.returncode == 0 and version.stdout.strip() == f"sanitizer, version {VERSION}", version
    # the build stage puts the copied rules/demo.yaml where `sanitizer demo` looks for it
    assert "d.RULES" in DOCKERFILE.read_text()
    Path(rules).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "rules" / "demo.yaml", rules)
    demo = subprocess.run([str(venv / "bin" / "sanitizer"), "demo", "--dir", str(tmp_path / "demo")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert demo.returncode == 0 and "validation: PASS" in demo.stdout, demo.stdout + demo.stderr


def _guarded(tree: ast.Module) -> set[int]:
    """Line numbers of imports inside `try: ... except ImportError` or `if TYPE_CHECKING:` (optional)."""
    lines = set()
    for node in ast.walk(tree):
        optional = isinstance(node, ast.Try) and any(
            h.type is not None and {"ImportError", "ModuleNotFoundError"} & {
                getattr(e, "id", "") for e in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type])}
            for h in node.handlers)
        optional = optional or (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test))
        if optional:
            for child in node.body:
                lines.update(n.lineno for n in ast.walk(child) if isinstance(n, ast.Import | ast.ImportFrom))
    return lines


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(requirements: list[str] | None) -> set[str]:
    out = set()
    for req in requirements or []:
        if "extra ==" in req.replace("extra==", "extra =="):
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?", req)
        if match:
            out.add(_norm(match.group(1)))
            for extra in (match.group(2) or "").strip("[]").split(","):  # psycopg[binary]
                if extra.strip():
                    out.add(f"{_norm(match.group(1))}[{extra.strip()}]")
    return out


def test_every_imported_library_is_a_declared_dependency() -> None:
    """The image installs the wheel's dependencies and nothing else: an import of anything undeclared (found
    in a developer's venv) works in the tests and fails in the container."""
    declared = _requirement_names(tomllib.loads((ops.REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    closure, todo = set(), [n for n in declared if "[" not in n]
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = md.requires(name)
        except md.PackageNotFoundError:
            continue
        todo.extend(n for n in _requirement_names(requires) if "[" not in n)
    for name in [n for n in declared if "[" in n]:  # an extra's requirements: psycopg[binary] -> psycopg-binary
        base, extra = name.rstrip("]").split("[")
        for req in md.requires(base) or []:
            if re.search(rf"extra\s*==\s*['\"]{re.escape(extra)}['\"]", req):
                closure.add(_norm(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req).group(1)))
    providers = md.packages_distributions()
    undeclared = {}
    for path in sorted((ops.REPO / "sanitizer").rglob("*.py")):
        tree = ast.parse(path.read_text())
        optional = _guarded(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in optional:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "sanitizer":
                    continue
                dists = {_norm(d) for d in providers.get(top, [top])}
                if not dists & closure:
                    undeclared.setdefault(top, []).append(f"{path.relative_to(ops.REPO)}:{node.lineno}")
    assert not undeclared, f"imported but not in pyproject.toml's dependencies: {undeclared}"


# --- the real image ------------------------------------------------------------------------------------


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="module")
def image() -> str:
    if not docker_answers():
        pytest.skip("no Docker daemon answers `docker info`: the image is not built here (the install is replayed "
                    "by test_the_copied_files_alone_build_a_wheel_with_the_c_extensions_that_runs)")
    command = ["docker", "build", "-t", IMAGE]
    if os.environ.get("SANITIZER_TEST_PYTHON_IMAGE"):
        command += ["--build-arg", f"PYTHON_IMAGE={os.environ['SANITIZER_TEST_PYTHON_IMAGE']}"]
    if os.environ.get("SANITIZER_TEST_DOCKER_NETWORK"):
        command += ["--network", os.environ["SANITIZER_TEST_DOCKER_NETWORK"]]
    result = subprocess.run([*command, str(ops.REPO)], capture_output=True, text=True, timeout=1800)
    output = result.stdout + result.stderr
    if result.returncode != 0 and re.search(r"registry-1\.docker\.io|pull access denied|no such host|"
                                            r"failed to resolve|TLS handshake timeout", output):
        # the daemon answers but cannot fetch the base image: a machine without a registry, not a broken build
        pytest.skip(f"the daemon cannot pull {os.environ.get('SANITIZER_TEST_PYTHON_IMAGE', 'python:3.11-slim')} "
                    "here; set SANITIZER_TEST_PYTHON_IMAGE to a reachable mirror of it")
    assert result.returncode == 0, output[-4000:]
    return IMAGE


def docker(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def test_image_runs_version_and_demo_as_non_root(image: str) -> None:
    config = json.loads(docker("image", "inspect", image).stdout)[0]["Config"]
    assert config["Entrypoint"] == ["sanitizer"] and config["User"] == ops.image_defaults(DOCKERFILE)["user"]
    assert not any(e.startswith("SANITIZER_KEY") for e in config["Env"] or [])
    version = docker("run", "--rm", image, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"sanitizer, version {VERSION}", version
    probe = "import os, shutil, sanitizer._native, sanitizer._pgcopy; print(os.getuid(), shutil.which('pg_dump'))"
    native = docker("run", "--rm", "--entrypoint", "python", image, "-c", probe)
    assert native.returncode == 0, native.stderr
    uid, pg_dump = native.stdout.split()
    assert uid != "0" and pg_dump != "None"
    demo = docker("run", "--rm", image, "demo")
    assert demo.returncode == 0 and "validation: PASS (0 findings)" in demo.stdout, demo.stdout + demo.stderr


def test_image_runs_the_kubernetes_cronjob_container_read_only(image: str, tmp_path: Path) -> None:
    """The CronJob's container as Kubernetes starts it: its user, a read-only root, its Secret, ConfigMap
    and state volumes; a SQLite 'production' mounted at /data, staging a SQLite file in the state volume."""
    made = subprocess.run([sys.executable, "-m", "sanitizer", "demo", "--dir", str(tmp_path / "data")],
                          capture_output=True, text=True, env=ops.clean_env(), timeout=300)
    assert made.returncode == 0, made.stderr
    docs = [d for d in yaml.safe_load_all((ops.DEPLOY / "kubernetes" / "cronjob.yaml").read_text()) if d]
    cronjob = next(d for d in docs if d["kind"] == "CronJob" and d["metadata"]["name"] == "sanitizer-refresh")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    context = pod["securityContext"]
    uid, gid = context["runAsUser"], context.get("fsGroup", context.get("runAsGroup", 0))
    data = {"sanitizer-config": {"staging.yaml": (ops.DEPLOY / "staging.yaml").read_text(),
                                 "shop.yaml": (ops.REPO / "rules" / "demo.yaml").read_text()},
            "sanitizer-key": {"masking.key": ops.OPS_KEY},
            "sanitizer-db": {"PROD_DB_URL": "sqlite:////data/prod.db",
                             "STAGING_DB_URL": "sqlite:////var/lib/sanitizer/staging.db"}}
    volumes = {}
    for volume in pod["volumes"]:
        directory = tmp_path / "volumes" / volume["name"]
        directory.mkdir(parents=True)
        source = volume.get("configMap") or volume.get("secret")
        if source is not None:  # the kubelet writes the items, owned by root, group fsGroup
            for item in source["items"]:
                path = directory / item["path"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(data[source.get("name") or source["secretName"]][item["key"]])
                path.chmod(source.get("defaultMode", 0o644))
                os.chown(path, 0, gid) if os.geteuid() == 0 else path.chmod(0o444)
        else:
            directory.chmod(0o777)
        volumes[volume["name"]] = directory
    command = ["run", "--rm", "--read-only", "--user", f"{uid}:{context.get('runAsGroup', gid)}",
               "--group-add", str(gid), "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
               "-v", f"{tmp_path / 'data'}:/data:ro"]
    for mount in container["volumeMounts"]:
        command += ["-v", f"{volumes[mount['name']]}:{mount['mountPath']}{':ro' if mount.get('readOnly') else ''}"]
    for entry in container["env"]:
        if "value" in entry:
            command += ["-e", f"{entry['name']}={entry['value']}"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            if ref["key"] in data[ref["name"]]:
                command += ["-e", f"{entry['name']}={data[ref['name']][ref['key']]}"]
    command += ["--entrypoint", container["command"][0]] if container.get("command") else []
    command += [image, *container.get("command", [])[1:], *container["args"]]
    result = docker(*command)
    assert result.returncode == 0, result.stdout + result.stderr
    state = volumes[next(m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/var/lib/sanitizer")]
    with sqlite3.connect(state / "staging.db") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert tables >= ops.DEMO_TABLES
    (record,) = ops.audit_records(state / "audit.jsonl")
    assert record["exit_code"] == 0 and record["actor"] == ops.ACTOR
    assert (state / "reports" / "report.json").is_file()
