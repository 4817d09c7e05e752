"""A nested loop rescans a table for each of many outer rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pgsage.analyzer.advisor.candidates import provided_by
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate, IndexKey
from pgsage.analyzer.model.plan_tree import Node, walk
from pgsage.analyzer.model.workload import TableRef, Use
from pgsage.rules._support.catalog import table_rows
from pgsage.rules._support.deferral import deferred_to_ix001
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._plans import (
    PlannedStatement,
    index_action,
    plan_severity,
    planned,
    resolve,
    summary,
)


def _inner_seq_scan(node: Node) -> Node | None:
    """A Seq Scan the inner side of a nested loop runs (maybe through Materialize)."""
    for child, _ in walk(node):
        if child.get("Node Type") == "Seq Scan":
            return child
        if child.get("Node Type") not in ("Materialize", "Seq Scan"):
            return None
    return None


@register
class PlanNestedLoop(Rule["PlanNestedLoop.Options"]):
    """A nested loop rescans a table for each of many outer rows.

    What it detects:
        In the generic plan of a statement called at least `min_calls` times, a Nested
        Loop whose outer side is expected to return at least `min_outer_rows` rows and
        whose inner side is a sequential scan (maybe materialized) of a table with at
        least `min_inner_rows` rows: no index on the join column lets the inner side
        look rows up. The index proposed is on the inner table's join columns. When IX001
        already proposes an index for this statement on that table, the finding is info.

    Why it matters:
        The work is the product of both sides: 10,000 outer rows times a scan of 5,000
        rows is 50 million row comparisons per call.

    Example:
        Nested Loop > Seq Scan on orders (20,000 rows) > Materialize > Seq Scan on items

    What to do:
        Index the inner table's join column (the action), so each outer row becomes an
        index lookup (or the planner picks a hash join). If the outer estimate is far
        off, QY104 may say why.
    """

    code: ClassVar[str] = "QY103"
    name: ClassVar[str] = "query.plan_nested_loop"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=10, metadata={
            "help": "calls of the statement over the window."})
        min_outer_rows: int = field(default=10_000, metadata={
            "help": "rows expected from the outer side."})
        min_inner_rows: int = field(default=1000, metadata={"help": "rows of the inner table."})
        medium_share: float = field(default=0.1, metadata={
            "help": "share of statement time for medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for item in planned(model, options.min_calls):
            for node, _ in walk(item.plan.tree):
                plans = node.get("Plans", [])
                if node.get("Node Type") != "Nested Loop" or len(plans) != 2:
                    continue
                outer_rows = float(plans[0].get("Plan Rows", 0))
                inner = _inner_seq_scan(plans[1])
                if outer_rows < options.min_outer_rows or inner is None:
                    continue
                ref = resolve(model, item.statement, inner.get("Relation Name"))
                if ref is None:
                    continue
                inner_rows = table_rows(model.tables.get(ref.relid))
                if inner_rows < options.min_inner_rows:
                    continue
                finding = self._finding(model, item, ref, outer_rows, inner_rows, options)
                if finding is not None:
                    yield finding
                break

    def _finding(self, model: Model, item: PlannedStatement, ref: TableRef, outer_rows: float,
                 inner_rows: float, options: Options) -> Recommendation | None:
        common = (f"The generic plan of queryid {item.queryid} ({item.totals.calls:,} calls) "
                  f"joins with a nested loop: about {outer_rows:,.0f} outer rows, and for each "
                  f"a scan of {ref.name} ({inner_rows:,.0f} rows) - "
                  f"{outer_rows * inner_rows:,.0f} row visits per call "
                  f"({summary(item.plan.tree)}).")
        evidence: dict[str, Any] = {**statement_evidence(model, item.totals),
                                    "outer_rows": outer_rows, "inner_rows": inner_rows,
                                    "plan": summary(item.plan.tree)}
        deferred = deferred_to_ix001(self, model, item.queryid, ref,
                                     f"Nested loop over {ref.name}", common, evidence,
                                     item.totals.total_ms)
        if deferred is not None:
            return deferred
        joins = []
        if item.statement is not None:
            for u in item.statement.uses_of(ref):
                if u.use is Use.JOIN and u.column and u.expression is None \
                        and u.column not in joins:
                    joins.append(u.column)
        if not joins:
            return None
        candidate = Candidate(ref, tuple(IndexKey(c) for c in joins[:2]))
        if provided_by(candidate, model.indexes_by_table.get(ref.relid, [])):
            return None
        name, action = index_action(model, candidate)
        return self.finding(
            severity=plan_severity(self, item, options.medium_share),
            title=f"Nested loop rescans {ref.name} for {outer_rows:,.0f} rows: index "
                  f"{candidate.label()}",
            detail=(f"{common} An index on the join column {', '.join(joins[:2])} turns each "
                    "rescan into a lookup.\n  "
                    f"{short(model.statement_text(item.queryid), 300)}"),
            object=ObjectRef(ref.schema, ref.name, name, tuple(joins[:2])),
            action=action, impact={"queryids": [item.queryid]}, evidence=evidence,
            benefit=item.totals.total_ms,
        )
