"""Is staging still useful and still anonymous? The run's utility and re-identification-risk reports.

`Assurance` watches a refresh's two streams (production's batches as read, staging's as written),
scores how well staging keeps production's shapes (`collect.py`) and how many rows its quasi-identifiers
single out (`risk.py`), and turns `--min-utility` / `--min-k` into findings that stop the swap.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from ..plan import TablePlan
from ..rules import RuleSet
from ..validate.leak import Finding
from .collect import UtilityCollector, watch_table
from .risk import RiskCollector, quasi_identifiers


class Assurance:
    """Both collectors of one run; pure observers, so a run without gates behaves as before."""

    def __init__(self, plans: list[TablePlan], rules: RuleSet | None, default_schema: str | None,
                 changed_only: bool = True) -> None:
        live = [p for p in plans if not p.skip]
        self.utility = UtilityCollector([watch_table(p.info, {
            c: s.name for c, s in p.strategies.items() if not changed_only or s.name != "keep"}) for p in live])
        found = {p.info.qualified: quasi_identifiers(p.info, p.strategies, rules, default_schema) for p in live}
        self.risk = RiskCollector({t: q for t, q in found.items() if q})

    def watched(self, plan: TablePlan) -> set[str]:
        """Columns summarised on both sides: they must arrive as text or typed, never in binary wire form."""
        watch = self.utility.watches.get(plan.info.qualified)
        return set(watch.columns) if watch is not None else set()

    def source_batches(self, table: str, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            self.utility.observe(table, "source", batch)
            yield batch

    def observe_output(self, table: str, batch: pa.RecordBatch) -> None:
        self.utility.observe(table, "staging", batch)
        self.risk.observe(table, batch)

    def reports(self, min_k: int | None) -> tuple[dict[str, object], dict[str, object]]:
        return self.utility.report(), self.risk.report(min_k)

    def close(self) -> None:
        self.risk.close()


def gate_findings(utility: dict, risk: dict, min_utility: float | None, min_k: int | None) -> list[Finding]:
    """--min-utility and --min-k as findings: below either, staging is not touched (exit 1)."""
    found = []
    score = utility.get("score")
    if min_utility is not None and score is not None and score < min_utility:
        weakest = sorted((c["score"], f"{t['table']}.{c['column']}") for t in utility["tables"]
                         for c in t["columns"] if c["score"] is not None)[:3]
        found.append(Finding("utility_below_minimum", "(all tables)", 1, detail=(
            f"utility {score:.3f} < --min-utility {min_utility:.3f}; weakest: "
            + ", ".join(f"{name} {value:.2f}" for value, name in weakest))))
    if min_k is not None:
        for table in risk["tables"]:
            k = table.get("smallest_k")
            if "linkable" in table and k is None and table["rows"]:  # fail closed: k unknown is not k >= min_k
                found.append(Finding("k_anonymity_below_minimum", table["table"], int(table["rows"]),
                                     detail=f"k could not be counted over ({', '.join(table['linkable'])}): "
                                            f"{table.get('note', 'unknown')}"))
                continue
            if k is not None and k < min_k:
                found.append(Finding("k_anonymity_below_minimum", table["table"], int(table["rows_below_min_k"]),
                                     detail=(f"smallest k {k} < --min-k {min_k} over "
                                             f"({', '.join(table['linkable'])}); {table['unique_rows']:,} rows "
                                             "are unique; generalize, round or fake one of these")))
    return found


__all__ = ["Assurance", "gate_findings"]
