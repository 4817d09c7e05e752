"""NOT IN (SELECT ...): wrong with NULLs and slow without an anti-join."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import Statement, node_type
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._antipatterns import modelled_statements, nodes, query_trees


def negates_in_subquery(statement: Statement) -> bool:
    """The statement has `NOT (x IN (SELECT ...))`, however it is written (`NOT IN`,
    `NOT x = ANY (SELECT ...)`)."""
    for tree in query_trees(statement, "not"):
        for expr in nodes(tree, "BoolExpr"):
            args = expr.get("args", [])
            inner = node_type(args[0]) if expr.get("boolop") == "NOT_EXPR" and args else None
            if inner and inner[0] == "SubLink" and inner[1].get("subLinkType") == "ANY_SUBLINK":
                return True
    return False


@register
class NotInSubquery(Rule["NotInSubquery.Options"]):
    """NOT IN (SELECT ...): wrong with NULLs and slow without an anti-join.

    What it detects:
        Statements with `x NOT IN (SELECT ...)` called at least `min_calls` times.

    Why it matters:
        If the subquery returns a single NULL, `NOT IN` is never true and the statement
        returns nothing: rarely what was meant. The planner cannot turn NOT IN into an
        anti-join; it runs a hashed subplan that must fit in work_mem, or else rescans
        the subquery for every row.

    Example:
        SELECT * FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)

    What to do:
        Write `NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = customers.id)`:
        an anti-join, and the answer one expects with NULLs.
    """

    code: ClassVar[str] = "QY007"
    name: ClassVar[str] = "query.not_in_subquery"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=1, metadata={"help": "calls a statement needs."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in modelled_statements(model, options.min_calls):
            if not negates_in_subquery(statement):
                continue
            yield self.finding(
                title=f"NOT IN (subquery) in queryid {t.queryid}: use NOT EXISTS",
                detail=(f"queryid {t.queryid} ({t.calls:,} calls, {t.mean_exec_ms:,.2f} ms mean) "
                        "uses NOT IN with a subquery: a NULL from the subquery makes it return "
                        "no rows, and it cannot be planned as an anti-join. NOT EXISTS with "
                        "the same correlation is both correct with NULLs and an anti-join."
                        f"\n  {short(statement.text, 300)}"),
                object=ObjectRef(),
                impact={"queryids": [t.queryid]},
                evidence=statement_evidence(model, t),
                benefit=t.total_ms,
            )
