"""Text about strategies, generated from the registry: `rules show` and docs/strategies.md."""

from __future__ import annotations

import inspect

from .errors import ConfigError
from .strategies import registry


def strategy_text(name: str) -> str:
    cls = registry.get(name)
    if cls is None:
        raise ConfigError(f"rules show: unknown strategy {name!r}{registry.did_you_mean(name)}; "
                          "see `sanitizer rules list`")
    lines = [f"{name}: {cls.summary()}", ""]
    body = inspect.cleandoc(cls.__doc__ or "").splitlines()[1:]
    lines += [line for line in body if line.strip()] + [""]
    lines.append("Parameters:")
    for field_name, field in cls.params_model.model_fields.items():
        default = "required" if field.is_required() else f"default {field.default!r}"
        lines.append(f"  {field_name:<12} {default:<18} {field.description or ''}")
    lines.append("")
    guarantees = ["keyed and deterministic: same key and value, same output, in every table and run"
                  if cls.keyed else "deterministic without the key: the same value always gives the same output"]
    if cls.can_be_unique and cls.injective:
        guarantees.append("can keep a UNIQUE column unique: distinct inputs give distinct outputs by construction")
    elif cls.can_be_unique:
        guarantees.append("can keep a UNIQUE column unique: a rare collision is re-mapped by the uniqueness "
                          "ledger, keyed and reproducibly")
    guarantees.append(f"may return a value unchanged ({cls.may_keep_value})" if cls.may_keep_value
                      else "never returns a non-empty value unchanged")
    guarantees.append("a NULL stays NULL")
    lines.append("Guarantees: " + "; ".join(guarantees) + ".")
    if cls.example:
        lines += ["", "Rule example:", f"  {cls.example}"]
    return "\n".join(lines)


def strategies_markdown() -> str:
    out = ["# Strategies", "", "Generated from the strategy registry by `python -m sanitizer.docs`; "
           "do not edit by hand.", ""]
    for name in registry.strategies():
        out += [f"## `{name}`", "", "```", strategy_text(name), "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    from pathlib import Path

    from .rules import write_json_schema

    docs = Path(__file__).resolve().parent.parent / "docs"
    (docs / "strategies.md").write_text(strategies_markdown(), encoding="utf-8")
    write_json_schema(docs / "rules.schema.json")
