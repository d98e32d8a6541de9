"""Find the YAML comment on a rule's line: a `keep` with a comment is a decision someone wrote down.

PyYAML drops comments, so the file is composed once for line numbers and the comment is read back from the
raw line: the text after the first `#` that is outside quotes and starts the line or follows a space. A
flow mapping on one line (`columns: {id: keep, name: keep}  # catalogue data`) justifies every column on it.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def trailing_comment(line: str) -> str | None:
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            text = line[i + 1:].strip()
            return text or None
    return None


def _get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def rule_comments(path: Path) -> dict[tuple[str, str], str]:
    """(table key as written, column) -> the comment on the column's line, for every column that has one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        root = yaml.compose(text)
    except (OSError, yaml.YAMLError):
        return {}  # load_rules has already reported an unreadable file; no comments is the safe answer
    lines = text.splitlines()
    found: dict[tuple[str, str], str] = {}
    tables = _get(root, "tables") if root is not None else None
    if not isinstance(tables, yaml.MappingNode):
        return found
    for table_key, table_node in tables.value:
        columns = _get(table_node, "columns")
        if not isinstance(columns, yaml.MappingNode):
            continue
        for col_key, value in columns.value:
            rows = {col_key.start_mark.line}
            if columns.flow_style:  # {a: keep, b: keep} over several lines: the comment closes it
                rows.add(columns.end_mark.line)
            if isinstance(value, yaml.ScalarNode) or getattr(value, "flow_style", False):
                rows.add(value.end_mark.line)  # a block mapping's end is the next key's line: not ours
            for row in sorted(rows):
                comment = trailing_comment(lines[row]) if row < len(lines) else None
                if comment:
                    found[(table_key.value, col_key.value)] = comment
                    break
    return found
