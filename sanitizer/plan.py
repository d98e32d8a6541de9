"""Match rules to the schema: one strategy per column, foreign keys following their parents.

Every problem is found here, before any row moves, and becomes a ConfigError naming the file, the
path inside it and the table.column — or UncoveredColumns (exit 1) listing lines to paste.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import ConfigError, UncoveredColumns
from .rules import RuleSet
from .schema.model import ColumnInfo, SchemaInfo, TableInfo
from .strategies.base import Strategy, StrategyParams
from .strategies.keep import Keep
from .strategies.nullify import Nullify


@dataclass
class TablePlan:
    info: TableInfo
    skip: bool
    strategies: dict[str, Strategy] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    followed: dict[str, str] = field(default_factory=dict)  # FK column -> the parent column it follows
    where: str | None = None  # rows to read: the rules' table-level `where:`

    def column(self, name: str) -> ColumnInfo:
        """The column as strategies see it: an FK column that follows a UNIQUE parent is unique too,
        so the parent's keyed mapping (e.g. with a uniqueness tag) is reproduced exactly."""
        column = self.info.column(name)
        parent = self.followed.get(name)
        if (parent and self._parent_unique[name]) or name in self.unique_by_domain:
            return dataclasses.replace(column, unique=True)
        return column

    def ledgered(self) -> list[str]:
        """Columns whose unique output the uniqueness ledger settles (sanitizer/uniqueness.py)."""
        return [name for name in self.order
                if self.strategies[name].needs_ledger()
                and (self.column(name).unique or self.strategies[name].params.unique)]

    def read_columns(self) -> set[str]:
        """Columns whose values a strategy reads: those it changes, and those other columns' rules
        depend on or seed from. Every other column passes through unread."""
        read: set[str] = set()
        for name, strategy in self.strategies.items():
            if not strategy.copies_input:
                read |= {name} | strategy.depends_on() | strategy.reads_original()
        return read

    _parent_unique: dict[str, bool] = field(default_factory=dict)
    # columns sharing a keyed domain with a UNIQUE column: they take its unique form, so one input
    # gets one output in every table of the domain
    unique_by_domain: set[str] = field(default_factory=set)


def build_plan(schema: SchemaInfo, rules: RuleSet) -> list[TablePlan]:
    explicit = _explicit_rules(schema, rules)
    plans: dict[str, TablePlan] = {}
    origins: dict[tuple[str, str], str] = {}
    for qualified, info in schema.tables.items():
        table_rule = explicit.get(qualified)
        plan = plans[qualified] = TablePlan(info, skip=bool(table_rule and table_rule.skip))
        if plan.skip or table_rule is None:
            continue
        plan.where = table_rule.where
        for name, rule in table_rule.columns.items():
            plan.strategies[name] = rule.strategy
            origins[(qualified, name)] = rule.origin
    _follow_foreign_keys(schema, plans, origins)
    uncovered = []
    for qualified, plan in plans.items():
        if plan.skip:
            continue
        for column in plan.info.columns:
            if column.name in plan.strategies:
                continue
            if rules.unknown_columns == "fail":
                uncovered.append(column)
                continue
            plan.strategies[column.name] = (Keep if rules.unknown_columns == "keep" else Nullify)(StrategyParams())
            origins[(qualified, column.name)] = f"defaults.unknown_columns: {rules.unknown_columns}"
    if uncovered:
        lines = [f"  {c.table}:  {c.name}: keep   # or a masking strategy  ({c.type_name})" for c in uncovered]
        raise UncoveredColumns(
            f"{len(uncovered)} column(s) have no rule and unknown_columns is fail; add rules for them:\n"
            + "\n".join(lines))
    _share_uniqueness(plans.values())
    for qualified, plan in plans.items():
        if plan.skip:
            continue
        for name, strategy in plan.strategies.items():
            origin = origins.get((qualified, name), f"follows {plan.followed.get(name)}")
            column = plan.column(name)
            problem = strategy.check(column)
            if problem is None:
                missing = sorted(strategy.reads_original() - set(plan.info.column_names))
                if missing:
                    problem = f"{strategy.name} reads column(s) {', '.join(missing)}, which the table does not have"
            if problem:
                raise ConfigError(f"{origin}: {column.qualified} ({column.type_name}): {problem}")
        plan.order = column_order(plan)
    return list(plans.values())


def _explicit_rules(schema: SchemaInfo, rules: RuleSet) -> dict:
    known = {}
    for name, table_rule in rules.tables.items():
        info = schema.find(name)
        if info is None:
            raise ConfigError(f"{table_rule.origin}: no such table in the source; "
                              f"tables are: {', '.join(sorted(schema.tables)[:20])}")
        for column, rule in table_rule.columns.items():
            if column not in info.column_names:
                raise ConfigError(f"{rule.origin}: no column {column!r} in {info.qualified}; "
                                  f"columns are: {', '.join(info.column_names)}")
        known[info.qualified] = table_rule
    return known


def _follow_foreign_keys(schema: SchemaInfo, plans: dict[str, TablePlan], origins: dict) -> None:
    """A column referencing a transformed key gets the key's strategy (to a fixpoint, for chains)."""
    changed = True
    while changed:
        changed = False
        for qualified, plan in plans.items():
            if plan.skip:
                continue
            for fk in plan.info.foreign_keys:
                parent_info = schema.find(fk.referred_table)
                parent = plans.get(parent_info.qualified) if parent_info else None
                if parent is None:
                    continue
                for child_col, parent_col in zip(fk.columns, fk.referred_columns, strict=True):
                    strategy = parent.strategies.get(parent_col)
                    if strategy is None or not strategy.changes_values:
                        continue
                    where = f"{parent.info.qualified}.{parent_col}"
                    mine = plan.strategies.get(child_col)
                    if mine is None or (child_col in plan.followed and plan.strategies[child_col] is not strategy):
                        if strategy.depends_on() or strategy.reads_original():
                            raise ConfigError(f"{origins.get((parent.info.qualified, parent_col), where)}: "
                                              f"{qualified}.{child_col} references {where}, whose {strategy.name} "
                                              "rule reads other columns of its row, so the reference cannot follow")
                        plan.strategies[child_col] = strategy
                        plan.followed[child_col] = where
                        plan._parent_unique[child_col] = parent.column(parent_col).unique
                        changed = True
                    elif child_col not in plan.followed and _differs(mine, strategy):
                        raise ConfigError(
                            f"{origins[(qualified, child_col)]}: {qualified}.{child_col} references {where}, which "
                            f"is masked with {strategy.name}; remove this rule (references follow their key) "
                            "or give it the same rule")


def _share_uniqueness(plans) -> None:
    """A domain with a UNIQUE column is unique everywhere: else the same input would get the tagged
    form in one table and the plain one in another, and columns meant to join would not."""
    unique = {s.mapping_key() for p in plans if not p.skip for n, s in p.strategies.items()
              if s.changes_values and s.can_be_unique and (p.column(n).unique or s.params.unique)}
    for plan in plans:
        if plan.skip:
            continue
        plan.unique_by_domain = {n for n, s in plan.strategies.items()
                                 if s.changes_values and s.can_be_unique and s.mapping_key() in unique}


def _differs(a: Strategy, b: Strategy) -> bool:
    return type(a) is not type(b) or a.params != b.params


def column_order(plan: TablePlan) -> list[str]:
    """Columns in an order where each strategy's depends_on() comes before it; cycles are an error."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ConfigError(f"{plan.info.qualified}: columns depend on each other in a cycle: "
                              f"{' -> '.join((*path, name))}")
        state[name] = "visiting"
        for dep in sorted(plan.strategies[name].depends_on()):
            if dep not in plan.strategies:
                raise ConfigError(f"{plan.info.qualified}.{name}: {plan.strategies[name].name} uses column "
                                  f"{dep!r}, which the table does not have")
            visit(dep, (*path, name))
        state[name] = "done"
        order.append(name)

    for name in plan.info.column_names:
        visit(name, ())
    return order
