"""Rules files: YAML in, typed models out, every error naming file and path.

    version: 1
    defaults: {unknown_columns: fail}        # fail | keep | nullify
    tables:
      public.customers:
        columns:
          email: {strategy: fake, kind: email, unique: true}
          notes: nullify
          support_line: keep
        allow:                               # pattern-check exceptions, each with its reason
          support_line: {entities: [phone], reason: "our public support hotline numbers"}
      public.audit_trail: skip

Several files merge; a table or column defined twice is an error naming both files. `allow:` sits beside
`columns:` rather than inside a column rule so it never collides with a strategy's parameters.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError
from .strategies import registry
from .strategies.base import Strategy

UnknownColumns = Literal["fail", "keep", "nullify"]


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unknown_columns: UnknownColumns = Field(
        "fail", description="What happens to a column no rule names: fail stops the run (the safe default)."
    )


class AllowSpec(BaseModel):
    """Entities the pattern check may find in one column, and why that is acceptable (docs/validation.md)."""

    model_config = ConfigDict(extra="forbid")
    entities: list[str] = Field(min_length=1, description="Pattern-check entities allowed in this column.")
    reason: str = Field(min_length=1, description="Why these values may stay (reviewed like code); required.")

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, value: list[str]) -> list[str]:
        known = _pattern_entities()
        unknown = [e for e in value if e not in known]
        if unknown:
            raise ValueError(f"unknown entity {unknown[0]!r}; entities are: {', '.join(known)}")
        return value

    @field_validator("reason")
    @classmethod
    def _written_reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("write why these values may stay in staging")
        return value.strip()


class TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    columns: dict[str, Any] = Field(default_factory=dict, description="Column name -> strategy or mapping.")
    allow: dict[str, AllowSpec] = Field(
        default_factory=dict, description="Column name -> pattern-check entities allowed there, with a reason.")
    where: str | None = Field(
        None, min_length=1, description="SQL condition on the table's own columns: only matching rows are "
        "read (applied at read, inside the snapshot). It does not follow foreign keys: use subset: for that.")
    quasi_identifiers: list[str] = Field(
        default_factory=list, description="Columns that together could single a person out (postal code, "
        "birth date, gender...): staging's k-anonymity over those still linkable is reported and gated "
        "by --min-k. Columns whose names say so are found without this list.")


def _pattern_entities() -> list[str]:
    from .validate.patterns import pattern_entities  # the detector registry: loaded only when needed

    return pattern_entities()


class RulesFileModel(BaseModel):
    """The shape of one rules file before strategies are resolved."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = Field(1, description="Rules format version.")
    defaults: Defaults = Field(default_factory=Defaults)
    tables: dict[str, Any] = Field(default_factory=dict, description="Table name -> `skip` or {columns: ...}.")
    subset: dict[str, Any] | None = Field(None, description="Copy an FK-closed subset (see docs/synth.md).")


@dataclass(frozen=True)
class ColumnRule:
    strategy: Strategy
    origin: str  # "rules/shop.yaml: tables.customers.columns.email" — where to point the user

    @property
    def name(self) -> str:
        return self.strategy.name


@dataclass(frozen=True)
class AllowRule:
    entities: frozenset[str]
    reason: str
    origin: str  # "rules/shop.yaml: tables.customers.allow.support_line"


@dataclass
class TableRule:
    skip: bool
    columns: dict[str, ColumnRule]
    origin: str
    allow: dict[str, AllowRule] = field(default_factory=dict)
    where: str | None = None
    quasi_identifiers: dict[str, str] = field(default_factory=dict)  # column -> origin in the rules


@dataclass
class RuleSet:
    """All rules files merged; what the pipeline and the checks consume."""

    tables: dict[str, TableRule] = field(default_factory=dict)
    unknown_columns: UnknownColumns = "fail"
    files: list[Path] = field(default_factory=list)
    digest: str = ""
    subset: Any = None  # sanitizer.synth.subset.SubsetSpec when a file has a `subset:` section
    subset_origin: str = ""

    def table(self, qualified: str, default_schema: str | None) -> TableRule | None:
        """Find the rules for a table named qualified (schema.name) or bare for the default schema."""
        if qualified in self.tables:
            return self.tables[qualified]
        if default_schema and qualified.startswith(f"{default_schema}."):
            return self.tables.get(qualified.split(".", 1)[1])
        return None

    def allowed(self, table: str, column: str, default_schema: str | None = None) -> dict[str, str]:
        """Entities the pattern check lets through in table.column, each with its written reason."""
        rule = self.table(table, default_schema)
        allow = rule.allow.get(column) if rule is not None else None
        return dict.fromkeys(sorted(allow.entities), allow.reason) if allow is not None else {}


def load_rules(paths: list[Path] | tuple[Path, ...]) -> RuleSet:
    """Read and merge rules files; raise ConfigError naming file and path on the first problem."""
    if not paths:
        raise ConfigError("no rules file given; pass --rules PATH (see rules/ for examples)")
    ruleset = RuleSet()
    digest = hashlib.sha256()
    defaults_from: Path | None = None
    for path in paths:
        raw, text = _read_yaml(path)
        digest.update(text.encode())
        model = _validate_file(path, raw)
        if "defaults" in (raw or {}):
            if defaults_from is not None and model.defaults.unknown_columns != ruleset.unknown_columns:
                raise ConfigError(f"{path}: defaults.unknown_columns: conflicts with {defaults_from}; "
                                  "set it in one file only")
            ruleset.unknown_columns = model.defaults.unknown_columns
            defaults_from = path
        if model.subset is not None:
            if ruleset.subset is not None:
                raise ConfigError(f"{path}: subset: already defined in {ruleset.subset_origin}; define it once")
            ruleset.subset, ruleset.subset_origin = _subset_spec(model.subset, path), str(path)
        for table_name, raw_spec in model.tables.items():
            where = f"{path}: tables.{table_name}"
            spec = _table_spec(raw_spec, where)
            existing = ruleset.tables.get(table_name)
            if spec == "skip":
                if existing is not None:
                    raise ConfigError(f"{where}: already defined in {existing.origin.split(':')[0]}; define it once")
                ruleset.tables[table_name] = TableRule(skip=True, columns={}, origin=where)
                continue
            if existing is None:
                existing = ruleset.tables[table_name] = TableRule(skip=False, columns={}, origin=where)
            elif existing.skip:
                raise ConfigError(f"{where}: already defined as skip in {existing.origin.split(':')[0]}")
            if spec.where is not None:
                if existing.where is not None and existing.where != spec.where:
                    raise ConfigError(f"{where}.where: a different where is set in {existing.origin.split(':')[0]}")
                existing.where = spec.where
            for column, value in spec.columns.items():
                col_where = f"{where}.columns.{column}"
                if column in existing.columns:
                    other = existing.columns[column].origin.split(":")[0]
                    raise ConfigError(f"{col_where}: already defined in {other}; define each column once")
                existing.columns[column] = ColumnRule(strategy=build_strategy(value, col_where), origin=col_where)
            for index, column in enumerate(spec.quasi_identifiers):
                existing.quasi_identifiers.setdefault(column, f"{where}.quasi_identifiers[{index}]")
            for column, allow in spec.allow.items():
                allow_where = f"{where}.allow.{column}"
                if column in existing.allow:
                    other = existing.allow[column].origin.split(":")[0]
                    raise ConfigError(f"{allow_where}: already defined in {other}; allow each column once")
                existing.allow[column] = AllowRule(frozenset(allow.entities), allow.reason, allow_where)
        ruleset.files.append(path)
    ruleset.digest = digest.hexdigest()
    return ruleset


def build_strategy(value: Any, where: str) -> Strategy:
    """A strategy from a rules value: a bare name, or a mapping with `strategy:` and parameters."""
    if value is None:
        raise ConfigError(f"{where}: empty rule (a bare `null` in YAML is nothing); write nullify to blank it")
    if isinstance(value, str):
        name, params = value, {}
    elif isinstance(value, dict):
        params = dict(value)
        name = params.pop("strategy", None)
        if not isinstance(name, str):
            raise ConfigError(f"{where}: a mapping rule needs `strategy: NAME`; see `sanitizer rules list`")
    else:
        raise ConfigError(f"{where}: expected a strategy name or a mapping, got {type(value).__name__}")
    cls = registry.get(name)
    if cls is None:
        raise ConfigError(f"{where}: unknown strategy {name!r}{registry.did_you_mean(name)}; "
                          "see `sanitizer rules list`")
    try:
        params_model = cls.params_model.model_validate(params)
    except ValidationError as exc:
        raise ConfigError(f"{where}.{_first_error(exc)}") from None
    return cls(params_model)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown parameter; see `sanitizer rules show` for the parameters"
    got = err.get("input")
    shown = "" if err["type"] in ("missing", "extra_forbidden") or isinstance(got, dict) else f" (got {got!r})"
    return f"{loc}: {msg}{shown}"


def _read_yaml(path: Path) -> tuple[Any, str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the rules file ({exc.strerror}); check the path") from None
    try:
        raw = yaml.safe_load(text)
    except RecursionError:  # PyYAML composes nested nodes recursively
        raise ConfigError(f"{path}: nested hundreds of levels deep, too deep to read; no rule needs more "
                          f"than {MAX_DEPTH}: flatten it") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}{at}: YAML syntax error: {problem}; fix the indentation or quoting there") from None
    if (where := _too_deep(raw)) is not None:
        raise ConfigError(f"{path}: {where or '(top)'}: nested more than {MAX_DEPTH} levels deep, or more than "
                          f"{MAX_NODES:,} values (YAML aliases repeated); no rules file needs that: flatten it")
    return raw, text


MAX_DEPTH = 32  # the deepest real rule (a json strategy's nested paths) is under ten levels
MAX_NODES = 1_000_000  # an alias bomb (&a [*a, *a, ...]) expands exponentially when walked


def _too_deep(raw: Any) -> str | None:
    """The path to the first value nested deeper than MAX_DEPTH, or None; iterative, so any depth is safe."""
    stack: list[tuple[Any, str, int]] = [(raw, "", 0)]
    seen = 0
    while stack:
        node, where, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH or seen > MAX_NODES:
            return where
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, dict | list):
                stack.append((value, f"{where}.{key}" if where else str(key), depth + 1))
    return None


def _validate_file(path: Path, raw: Any) -> RulesFileModel:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a rules file is a mapping with version, defaults and tables")
    try:
        return RulesFileModel.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from None


def _subset_spec(raw: dict[str, Any], path: Path):
    from .synth.subset import SubsetSpec  # here: synth imports the rules model

    try:
        return SubsetSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: subset.{_describe(exc)}") from None


def _table_spec(raw: Any, where: str) -> Literal["skip"] | TableSpec:
    if raw == "skip":
        return "skip"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a table is `skip` or a mapping with `columns:`")
    try:
        return TableSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{where}.{_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
    return f"{loc}: {msg}"


def rules_json_schema() -> dict[str, Any]:
    """JSON Schema of the rules format, with one branch per registered strategy."""
    strategies = registry.strategies()
    branches = []
    for name, cls in strategies.items():
        schema = cls.params_model.model_json_schema()
        schema["properties"] = {"strategy": {"const": name}, **schema.get("properties", {})}
        schema["required"] = ["strategy", *schema.get("required", [])]
        schema["title"] = name
        schema["description"] = cls.summary()
        branches.append(schema)
    allow_rule = AllowSpec.model_json_schema()
    allow_rule["properties"]["entities"]["items"] = {"enum": _pattern_entities()}
    allow_rule["properties"]["reason"]["pattern"] = r"\S"
    column_rule = {"oneOf": [{"enum": list(strategies), "description": "A strategy with default parameters."},
                             *branches]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "sanitizer rules file",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "version": {"const": 1},
            "defaults": Defaults.model_json_schema(),
            "tables": {"type": "object", "additionalProperties": {"oneOf": [
                {"const": "skip", "description": "Copy the table's schema, no rows."},
                {"type": "object", "additionalProperties": False,
                 "properties": {"columns": {"type": "object", "additionalProperties": column_rule},
                                "allow": {"type": "object", "additionalProperties": allow_rule,
                                          "description": TableSpec.model_fields["allow"].description},
                                "where": {"type": "string", "minLength": 1,
                                          "description": TableSpec.model_fields["where"].description},
                                "quasi_identifiers": {
                                    "type": "array", "items": {"type": "string"},
                                    "description": TableSpec.model_fields["quasi_identifiers"].description}}},
            ]}},
            "subset": _subset_schema(),
        },
    }


def _subset_schema() -> dict[str, Any]:
    from .synth.subset import SubsetSpec

    return SubsetSpec.model_json_schema()


def write_json_schema(path: Path) -> None:
    path.write_text(json.dumps(rules_json_schema(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
