"""What the generic plans of the top statements show (the plan collector, analyzer/plans.py).

QY101 sequential scans of large tables with a selective filter, QY102 sorts an index could
provide for ORDER BY ... LIMIT, QY103 nested loops that rescan a table for many outer rows,
QY104 row estimates that disagree with what the statement returns (CREATE STATISTICS),
QY105 a plan that changed since the baseline and got more expensive.

Plans are generic (parameters unknown) and never executed: what they give is the planner's
estimates. Where an index would help, the index advisor (IX001) may already propose it;
then the finding is info and names that index, so one index is never proposed twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Severity
from pgsage.analyzer.model.index_plan import Candidate, IndexKey
from pgsage.analyzer.model.plan_tree import Node, walk
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.workload import Statement, TableRef, Use
from pgsage.analyzer.sqlgen import ident
from pgsage.collectors.plans import StatementPlan
from pgsage.rules._support.workload import free_index_name, workload_ms
from pgsage.rules.base import Rule


def resolve(model: Model, statement: Statement | None, relation: str | None) -> TableRef | None:
    """The table a plan node names: the statement's own table of that name, else the only
    table of that name in the snapshot (EXPLAIN without VERBOSE prints no schema)."""
    if not relation:
        return None
    if statement is not None:
        for ref in statement.tables:
            if ref.name == relation:
                return ref
    found = [t for t in model.tables.values() if t.name == relation]
    if len(found) == 1:
        return TableRef(found[0].relid, found[0].schema, found[0].name)
    return None


def node_label(node: Node) -> str:
    label = str(node.get("Node Type", "?"))
    if node.get("Index Name"):
        label += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        label += f" on {node['Relation Name']}"
    return label


def summary(tree: Node, limit: int = 6) -> str:
    """The first nodes of a plan, outermost first: `Limit > Sort > Seq Scan on events`."""
    labels = [node_label(n) for n, _ in walk(tree)]
    text = " > ".join(labels[:limit])
    return text + (" > ..." if len(labels) > limit else "")


@dataclass(frozen=True)
class PlannedStatement:
    queryid: int
    plan: StatementPlan
    totals: Totals
    statement: Statement | None
    share: float


def planned(model: Model, min_calls: int) -> Iterator[PlannedStatement]:
    found = model.totals
    total = workload_ms(found) or 1.0
    for queryid, plan in sorted(model.plans.items()):
        t = found.get(queryid)
        if t is None or t.calls < min_calls:
            continue
        yield PlannedStatement(queryid, plan, t, model.workload.statements.get(queryid),
                       t.total_ms / total)


def where_keys(statement: Statement | None, table: TableRef) -> list[IndexKey]:
    """Equality columns, then one range column, of a statement's WHERE on a table."""
    if statement is None:
        return []
    uses = [u for u in statement.uses_of(table)
            if u.clause == "where" and not u.in_or and u.column and u.expression is None]
    eq = [u.column for u in uses if u.use in (Use.EQ, Use.IN)]
    ranges = [u.column for u in uses if u.use in (Use.RANGE, Use.LIKE_PREFIX)]
    keys: list[str] = []
    for col in [*eq, *ranges[:1]]:
        if col and col not in keys:
            keys.append(col)
    return [IndexKey(c) for c in keys]


def index_action(model: Model, candidate: Candidate) -> tuple[str, Action]:
    name = free_index_name(model, candidate)
    return name, Action(sql=candidate.definition(name=name) + ";",
                        undo_sql=f"DROP INDEX CONCURRENTLY IF EXISTS "
                                 f"{ident(candidate.table.schema, name)};")


def plan_severity(rule: Rule[Any], item: PlannedStatement, medium_share: float) -> Severity:
    return Severity.MEDIUM if item.share >= medium_share else rule.severity
