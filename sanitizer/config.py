"""The run configuration file: every `run` option in YAML, with ${VAR} read from the environment.

    # staging.yaml — a nightly job is `sanitizer run --config staging.yaml`
    source: ${PROD_DB_URL}
    target: ${STAGING_DB_URL}
    rules: [rules/shop.yaml]
    actor: nightly-refresh
    environment: staging
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = None
    target: str | None = None
    out: Path | None = None
    rules: list[Path] = Field(default_factory=list)
    jobs: int | None = Field(None, ge=1)
    table_readers: int | None = Field(None, ge=1)  # psql COPYs per big PostgreSQL table (block ranges)
    actor: str | None = None
    dry_run: bool = False
    report_dir: Path | None = None
    audit_file: Path | None = None
    environment: str | None = None  # the target's environment marker; `run` defaults it to staging
    min_utility: float | None = Field(None, ge=0, le=1)  # below it staging is not touched (exit 1)
    min_k: int | None = Field(None, ge=2)  # a smaller group of quasi-identifiers stops the run (exit 1)
    notify: str | None = None  # webhook URL: a JSON summary after every run
    log_format: Literal["text", "json"] | None = None


def load_config(path: Path) -> RunConfig:
    """Read a config file; relative paths in it are relative to the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except RecursionError:  # PyYAML composes nested nodes recursively
        raise ConfigError(f"{path}: nested hundreds of levels deep, too deep to read; a config file is a flat "
                          "mapping of option: value") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{at}: YAML syntax error: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config file is a mapping of option: value")
    raw = {key: _expand(value, f"{path}: {key}") for key, value in raw.items()}
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = "unknown option" if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(f"{path}: {loc}: {msg}") from None
    base = path.parent
    config.rules = [p if p.is_absolute() else base / p for p in config.rules]
    for name in ("out", "report_dir", "audit_file"):
        value = getattr(config, name)
        if value is not None and not value.is_absolute():
            setattr(config, name, base / value)
    return config


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where}: environment variable {name} is not set; export it or edit the file")
            return os.environ[name]
        return ENV_REF.sub(sub, value)
    if isinstance(value, list):
        return [_expand(v, where) for v in value]
    return value
