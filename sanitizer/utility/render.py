"""The utility and risk reports as Markdown lines and as one self-contained HTML page.

The page has no script and no network: charts are inline SVG drawn here. Everything interpolated is
escaped (table and column names come from the database). Charts carry ranks and shares only: a P-P plot
(production's share at or below a value against staging's; the diagonal is a perfect match)
or the ranked shares of the ten largest categories, never a label or a value.
"""

from __future__ import annotations

import html
from typing import Any

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d232a;background:#fafbfc}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:26px 0 8px}h3{font-size:15px;margin:18px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.card{background:#fff;border:1px solid #dde1e6;
border-radius:6px;padding:8px 14px}.card b{display:block;font-size:22px}.good{color:#17602c}.fair{color:#a05a00}
.poor{color:#8a1c17}table{border-collapse:collapse;background:#fff;margin:6px 0}th,td{border-bottom:1px solid #e5e8eb;
padding:4px 8px;text-align:left;vertical-align:middle}th{background:#f0f2f4}td.num{text-align:right}
.note{color:#57606a}svg{display:block}.legend span{display:inline-block;margin-right:12px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
"""

SOURCE_COLOUR, STAGING_COLOUR = "#3a6ea5", "#d9822b"


def _grade(score: float | None) -> str:
    if score is None:
        return ""
    return "good" if score >= 0.9 else "fair" if score >= 0.75 else "poor"


def _fmt(score: float | None) -> str:
    return "—" if score is None else f"{score:.3f}"


def _share(pair: dict[str, float] | None) -> str:
    if not pair:
        return "—"
    return f"{pair['source']:.1%} → {pair['staging']:.1%}"


def chart_svg(chart: dict[str, Any] | None, size: int = 120) -> str:
    """A P-P plot or ranked-share bars, as inline SVG (the data are ranks and shares in [0, 1])."""
    if not chart:
        return ""
    pad, inner = 6, size - 12
    parts = [f'<svg class="chart" width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img">',
             f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" fill="#fff" stroke="#c9ced4"/>']
    if chart["type"] == "pp":
        parts.append(f'<line x1="{pad}" y1="{pad + inner}" x2="{pad + inner}" y2="{pad}" stroke="#9aa3ad" '
                     'stroke-dasharray="3,3"/>')
        points = " ".join(f"{pad + x * inner:.1f},{pad + (1 - y) * inner:.1f}" for x, y in chart["points"])
        parts.append(f'<polyline fill="none" stroke="{STAGING_COLOUR}" stroke-width="2" points="{points}"/>')
    else:
        source, staging = chart["source"], chart["staging"]
        slots = max(len(source), len(staging), 1)
        width = inner / slots / 2
        top = max([*source, *staging, 1e-9])
        for i in range(slots):
            for j, (values, colour) in enumerate(((source, SOURCE_COLOUR), (staging, STAGING_COLOUR))):
                if i < len(values):
                    height = values[i] / top * (inner - 2)
                    x = pad + (2 * i + j) * width
                    parts.append(f'<rect x="{x:.1f}" y="{pad + inner - height:.1f}" width="{max(width - 1, 1):.1f}" '
                                 f'height="{height:.1f}" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def markdown(utility: dict[str, Any] | None, risk: dict[str, Any] | None) -> list[str]:
    lines: list[str] = []
    if utility is not None:
        lines += ["", "## Utility: is staging predictive of production?", "",
                  f"- score: **{_fmt(utility['score'])}** (column shapes {_fmt(utility['column_shapes'])}, "
                  f"column-pair trends {_fmt(utility['column_pair_trends'])}, FK fan-out {_fmt(utility['fan_out'])})",
                  "- columns a strategy changed are scored; kept columns are identical by construction", ""]
        columns = sorted(((c["score"], t["table"], c) for t in utility["tables"] for c in t["columns"]
                          if c["score"] is not None), key=lambda x: x[0])
        if columns:
            lines += ["| column | strategy | metric | score | nulls | distinct |", "|---|---|---|---|---|---|"]
            lines += [f"| {table}.{c['column']} | {c['strategy'] or ''} | {c['metric']} | {score:.3f} | "
                      f"{_share(c.get('null_share'))} | {_share(c.get('distinct_share'))} |"
                      for score, table, c in columns[:20]]
            if len(columns) > 20:
                lines.append(f"| … {len(columns) - 20} more in utility.html | | | | | |")
    if risk is not None and risk["tables"]:
        lines += ["", "## Re-identification risk (k-anonymity)", "",
                  f"- smallest k: **{risk['smallest_k'] if risk['smallest_k'] is not None else '—'}**"
                  + (f" (--min-k {risk['min_k']})" if risk["min_k"] is not None else ""), "",
                  "| table | linkable quasi-identifiers | smallest k | unique rows | share unique |",
                  "|---|---|---|---|---|"]
        for t in risk["tables"]:
            if "unique_rows" in t:
                lines.append(f"| {t['table']} | {', '.join(t['linkable'])} | {t['smallest_k']} | "
                             f"{t['unique_rows']:,} | {t['unique_share']:.1%} |")
            elif "note" in t and "linkable" in t:
                lines.append(f"| {t['table']} | {', '.join(t['linkable'])} | {t['note']} | — | — |")
            else:
                names = ", ".join(q["column"] for q in t["quasi_identifiers"])
                lines.append(f"| {t['table']} | none ({names}: faked or pseudonymised) | — | — | — |")
    return lines


def _table(heading: str, headers: list[str], rows: list[str]) -> str:
    """A heading and a table of the given rows; nothing at all when there are none."""
    if not rows:
        return ""
    return heading + "<table><tr>" + "".join(f"<th>{h}</th>" for h in headers) + "</tr>" + "".join(rows) + "</table>"


def _score(score: float | None) -> str:
    return f"<td class='num {_grade(score)}'>{_fmt(score)}</td>"


def _mean_children(entry: dict[str, Any]) -> str:
    mean = entry.get("mean_children")
    return f"{mean['source']:.2f} → {mean['staging']:.2f}" if mean else html.escape(entry.get("note", ""))


def page(utility: dict[str, Any] | None, risk: dict[str, Any] | None, title: str) -> str:
    """The whole HTML page."""
    e = html.escape
    out = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
           f"<title>{e(title)}</title><style>{CSS}</style></head><body>", f"<h1>{e(title)}</h1>",
           "<p class='note'>Scores run from 0 to 1 (1: staging keeps production's shape). Charts show ranks and "
           "shares, never values: a P-P plot follows the dashed diagonal when the distributions match.</p>",
           f"<p class='legend'><span><i class='sw' style='background:{SOURCE_COLOUR}'></i>production</span>"
           f"<span><i class='sw' style='background:{STAGING_COLOUR}'></i>staging</span></p>"]
    if utility is not None:
        out.append("<div class='cards'>")
        for label, key in (("utility", "score"), ("column shapes", "column_shapes"),
                           ("column-pair trends", "column_pair_trends"), ("FK fan-out", "fan_out")):
            out.append(f"<div class='card' data-score='{key}'><b class='{_grade(utility[key])}'>"
                       f"{_fmt(utility[key])}</b>{label}</div>")
        if risk is not None and risk.get("smallest_k") is not None:
            out.append(f"<div class='card' data-score='smallest_k'><b>{risk['smallest_k']}</b>smallest k</div>")
        out.append("</div>")
    if risk is not None and risk["tables"]:
        out += ["<h2>Re-identification risk</h2><table><tr><th>table</th><th>quasi-identifiers</th>"
                "<th>smallest k</th><th>unique rows</th><th>share unique</th></tr>"]
        for t in risk["tables"]:
            qis = ", ".join(f"{q['column']} ({q['strategy']}{'' if q['linkable'] else ', unlinkable'})"
                            for q in t["quasi_identifiers"])
            if "unique_rows" in t:
                out.append(f"<tr class='risk'><td>{e(t['table'])}</td><td>{e(qis)}</td><td class='num'>"
                           f"{t['smallest_k']}</td><td class='num'>{t['unique_rows']:,}</td><td class='num'>"
                           f"{t['unique_share']:.1%}</td></tr>")
            else:
                out.append(f"<tr class='risk'><td>{e(t['table'])}</td><td>{e(qis)}</td>"
                           f"<td colspan='3' class='note'>{e(t.get('note', 'none linkable'))}</td></tr>")
        out.append("</table>")
    for t in (utility or {}).get("tables", []):
        out.append(f"<h2>{e(t['table'])}</h2><p class='note'>rows: production {t['rows']['source']:,}, "
                   f"staging {t['rows']['staging']:,}</p>")
        out.append(_table("", ["column", "strategy", "metric", "score", "nulls", "distinct", "chart"], [
            f"<tr class='column'><td>{e(c['column'])}</td><td>{e(c['strategy'] or '')}</td>"
            f"<td>{e(c['metric'] or c.get('note', ''))}</td>{_score(c['score'])}<td>{_share(c.get('null_share'))}"
            f"</td><td>{_share(c.get('distinct_share'))}</td><td>{chart_svg(c['chart'])}</td></tr>"
            for c in t["columns"]]))
        out.append(_table("<h3>Column-pair trends (Pearson's r)</h3>", ["columns", "production", "staging", "score"], [
            f"<tr class='pair'><td>{e(' & '.join(p['columns']))}</td><td class='num'>{_fmt(p['source_r'])}</td>"
            f"<td class='num'>{_fmt(p['staging_r'])}</td>{_score(p['score'])}</tr>" for p in t["pairs"]]))
        out.append(_table("<h3>Children per parent</h3>", ["foreign key", "mean children", "score", "chart"], [
            f"<tr class='fanout'><td>{e(f['foreign_key'])}</td><td>{_mean_children(f)}</td>{_score(f['score'])}"
            f"<td>{chart_svg(f['chart'])}</td></tr>" for f in t["fan_out"]]))
    out.append("</body></html>")
    return "\n".join(out) + "\n"
