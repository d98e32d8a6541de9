"""Synthetic data and FK-closed subsets: datasets for staging that never held a production row.

    generate(schema, rules, rows, seed, stats)  -> {table: DataFrame}, loads into the real schema
    plan_subset(schema, start, follow_children) -> SubsetPlan;  subset_queries(source, plan) -> {table: Select}
"""

from __future__ import annotations

from .generate import SynthResult, generate, synthesize
from .hints import ColumnHint, SynthHints, hints_from_source
from .subset import SubsetPlan, SubsetSpec, driver_sql, plan_subset, subset_queries

__all__ = ["ColumnHint", "SubsetPlan", "SubsetSpec", "SynthHints", "SynthResult", "driver_sql", "generate",
           "hints_from_source", "plan_subset", "subset_queries", "synthesize"]
