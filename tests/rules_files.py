"""Rules files that tests write for a whole database (public sample data, copied on purpose)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import yaml

from sanitizer.schema.reflect import reflect

ALL_ENTITIES = ["credit_card", "email", "iban", "ip_address", "mac_address", "national_id", "phone", "us_ssn"]
KEPT_ON_PURPOSE = "test: public sample data, copied unchanged on purpose"


def keep_all_rules(source: str, path: Path, overrides: dict[str, dict[str, object]] | None = None) -> Path:
    """A rules file naming every reflected column with `keep`, except the given per-table overrides."""
    engine = sa.create_engine(source)
    try:
        with engine.connect() as conn:
            schema, _ = reflect(conn)
    finally:
        engine.dispose()
    overrides = overrides or {}
    tables = {}
    for qualified, info in schema.tables.items():
        columns: dict[str, object] = {str(name): "keep" for name in info.column_names}
        columns.update(overrides.get(info.name, {}))
        kept = [str(c.name) for c in info.columns if c.is_text and columns[str(c.name)] == "keep"]
        tables[str(qualified)] = {"columns": columns}
        if kept:  # sample data is kept on purpose: its phones and e-mails are not findings here
            tables[str(qualified)]["allow"] = {name: {"entities": ALL_ENTITIES, "reason": KEPT_ON_PURPOSE}
                                               for name in kept}
    path.write_text(yaml.safe_dump({"version": 1, "defaults": {"unknown_columns": "fail"}, "tables": tables},
                                   sort_keys=False))
    return path
