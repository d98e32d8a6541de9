"""`sanitizer utility`: compare production with a staging loaded earlier, table by table, and score it.

Both databases are streamed in read-only transactions through the same summaries a run keeps, so memory
stays bounded on any size. With --rules, the columns the rules change are scored (kept ones are identical
by construction) and their strategies decide which quasi-identifiers still link to a person; without,
every column is scored and every quasi-identifier is taken as linkable.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from ..plan import build_plan
from ..rules import load_rules
from ..source.reader import Source
from ..urls import parse
from . import gate_findings, render
from .collect import UtilityCollector, watch_table
from .risk import RiskCollector, quasi_identifiers

Echo = Callable[..., None]


def utility_command(source_url: str | None, target_url: str | None, rules: list[Path], fmt: str,
                    output: Path | None, min_utility: float | None, min_k: int | None, echo: Echo) -> int:
    if not source_url or not target_url:
        raise ConfigError("utility: pass --source URL (production) and --target URL (staging)")
    ruleset = load_rules(rules) if rules else None
    with Source(parse(source_url, what="source")) as source, Source(parse(target_url, what="target")) as target:
        assert source.schema is not None and target.schema is not None
        infos = [info for name, info in source.schema.tables.items() if name in target.schema.tables]
        strategies: dict[str, dict] = {}
        if ruleset is not None:
            plans = {p.info.qualified: p for p in build_plan(source.schema, ruleset)}
            infos = [i for i in infos if not plans[i.qualified].skip]
            strategies = {name: plans[name].strategies for name in plans}
        watches = [watch_table(info, {c: s.name for c, s in strategies[info.qualified].items() if s.name != "keep"}
                               if ruleset is not None else dict.fromkeys((c.name for c in info.columns), ""))
                   for info in infos]
        collector = UtilityCollector(watches)
        found = {info.qualified: quasi_identifiers(info, strategies.get(info.qualified) if ruleset else None,
                                                   ruleset, source.schema.default_schema) for info in infos}
        risk = RiskCollector({t: q for t, q in found.items() if q})
        try:
            for info in infos:
                for batch in source.batches(info):
                    collector.observe(info.qualified, "source", batch)
                staged = target.schema.tables[info.qualified]
                for batch in target.batches(staged):
                    collector.observe(info.qualified, "staging", batch)
                    risk.observe(info.qualified, batch)
            utility, risk_report = collector.report(), risk.report(min_k)
        finally:
            risk.close()
    findings = gate_findings(utility, risk_report, min_utility, min_k)
    if fmt == "json":
        text = json.dumps({"utility": utility, "risk": risk_report,
                           "findings": [f.as_dict() for f in findings]}, indent=2) + "\n"
    elif fmt == "html":
        text = render.page(utility, risk_report, "sanitizer utility report")
    else:
        text = "# sanitizer utility report\n" + "\n".join(render.markdown(utility, risk_report)) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
        echo(f"wrote {output}: utility {utility['score'] if utility['score'] is not None else '—'}, "
             f"smallest k {risk_report['smallest_k'] if risk_report['smallest_k'] is not None else '—'}")
    else:
        echo(text, nl=False)
    for finding in findings:
        echo(f"error: {finding.kind}: {finding.column}: {finding.detail}", err=True)
    return 1 if findings else 0
