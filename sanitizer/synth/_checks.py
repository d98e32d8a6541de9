"""Simple CHECK constraints, read from their reflected text: ranges and IN lists, nothing cleverer.

Generation must not violate a CHECK, and guessing is worse than saying so: what this parser does not
recognise is returned as a note and left alone (the load will then tell). Recognised, per column:
`c >= x`, `c > x`, `c <= x`, `c < x`, `c = x`, `c BETWEEN x AND y`, `c IN (...)`, `c = ANY (ARRAY[...])`,
joined by AND; literals are numbers or quoted text (dates, timestamps), casts like ::date are dropped.
Domain checks use the same parser with the column name VALUE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

CAST = re.compile(r"::\s*(?:\"[^\"]+\"|[a-z_][\w.]*(?:\s+(?:varying|precision))?)"
                  r"(?:\s*\(\d+(?:,\s*\d+)?\))?(?:\s+(?:with|without)\s+time\s+zone)?(?:\[\])?", re.I)
IDENT = r"(?:\"[^\"]+\"|[A-Za-z_]\w*)"
LITERAL = r"(?:'(?:[^']|'')*'|-?\d+(?:\.\d+)?(?:e-?\d+)?)"
COMPARE = re.compile(rf"^({IDENT})\s*(>=|<=|<>|!=|>|<|=)\s*({LITERAL})$", re.I)
REVERSED = re.compile(rf"^({LITERAL})\s*(>=|<=|>|<|=)\s*({IDENT})$", re.I)
BETWEEN = re.compile(rf"({IDENT})\s+BETWEEN\s+({LITERAL})\s+AND\s+({LITERAL})", re.I)
IN_LIST = re.compile(rf"^({IDENT})\s+IN\s*\((.*)\)$", re.I | re.S)
ANY_ARRAY = re.compile(rf"^({IDENT})\s*=\s*ANY\s*\(+\s*(?:ARRAY\s*)?\[(.*)\]\s*\)+$", re.I | re.S)
WRAPPED_IDENT = re.compile(rf"(?<![\w\"])\(\s*({IDENT})\s*\)")
FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "=": "="}


@dataclass(frozen=True)
class Bound:
    """What a column's CHECKs allow: [low, high] with open/closed ends, and/or a list of values."""

    low: object = None
    low_open: bool = False
    high: object = None
    high_open: bool = False
    choices: tuple[object, ...] | None = None

    def merge(self, other: Bound) -> Bound:
        out = self
        if other.low is not None and (out.low is None or _gt(other.low, out.low)):
            out = replace(out, low=other.low, low_open=other.low_open)
        if other.high is not None and (out.high is None or _gt(out.high, other.high)):
            out = replace(out, high=other.high, high_open=other.high_open)
        if other.choices is not None:
            keep = other.choices if out.choices is None else tuple(c for c in out.choices if c in other.choices)
            out = replace(out, choices=keep)
        return out


def _gt(a: object, b: object) -> bool:
    try:
        return a > b  # type: ignore[operator]
    except TypeError:
        return str(a) > str(b)


def parse_check(text: str) -> tuple[dict[str, Bound], str | None]:
    """Bounds per column from one CHECK's text, or ({}, why it was skipped)."""
    body = CAST.sub("", text)
    while WRAPPED_IDENT.search(body):
        body = WRAPPED_IDENT.sub(r"\1", body)
    body = _strip(body)
    body = BETWEEN.sub(lambda m: f"{m[1]} >= {m[2]} AND {m[1]} <= {m[3]}", body)
    parts = _split_and(body)
    if parts is None:
        return {}, "uses OR, NOT or functions"
    out: dict[str, Bound] = {}
    for part in parts:
        parsed = _conjunct(_strip(part))
        if parsed is None:
            return {}, f"cannot read {part.strip()[:60]!r}"
        column, bound = parsed
        out[column] = out[column].merge(bound) if column in out else bound
    return out, None


def _conjunct(part: str) -> tuple[str, Bound] | None:
    for pattern in (IN_LIST, ANY_ARRAY):
        m = pattern.match(part)
        if m:
            values = tuple(_literal(v.strip()) for v in _split_commas(m[2]))
            return _ident(m[1]), Bound(choices=values)
    m = COMPARE.match(part)
    if m:
        column, op, value = _ident(m[1]), m[2], _literal(m[3])
    else:
        m = REVERSED.match(part)
        if not m:
            return None
        column, op, value = _ident(m[3]), FLIP[m[2]], _literal(m[1])
    if op in ("<>", "!="):
        return (column, Bound()) if value is None else None
    if op == "=":
        return column, Bound(choices=(value,))
    if op.startswith(">"):
        return column, Bound(low=value, low_open=op == ">")
    return column, Bound(high=value, high_open=op == "<")


def _literal(text: str) -> object:
    text = _strip(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)


def _ident(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text


def _strip(text: str) -> str:
    """Drop whitespace and parentheses that wrap the whole expression."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth, quoted = 0, False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted:
            depth += (ch == "(") - (ch == ")")
            if depth < 0:
                return False
    return depth == 0


def _split_and(text: str) -> list[str] | None:
    """Top-level AND conjuncts; None when OR or NOT appears at top level (not handled)."""
    parts, depth, quoted, start = [], 0, False, 0
    upper = text.upper()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted:
            depth += (ch == "(") - (ch == ")")
            if depth == 0 and re.match(r"\s(OR|NOT)\s", upper[i:i + 5]):
                return None
            if depth == 0 and upper.startswith(" AND ", i):
                parts.append(text[start:i])
                start = i + 5
                i += 4
        i += 1
    parts.append(text[start:])
    return parts


def _split_commas(text: str) -> list[str]:
    parts, quoted, start = [], False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]
