"""ORDER BY ... LIMIT sorts the whole input where an index could give the order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pgsage.analyzer.advisor.candidates import provided_by
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate, IndexKey
from pgsage.analyzer.model.plan_tree import Node, walk
from pgsage.analyzer.model.workload import Use
from pgsage.rules._support.catalog import table_rows
from pgsage.rules._support.deferral import deferred_to_ix001
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._plans import (
    index_action,
    plan_severity,
    planned,
    summary,
    where_keys,
)


def _sort_under_limit(tree: Node) -> Node | None:
    """A Sort that a Limit reads (directly or through Gather Merge / Result)."""
    for node, _ in walk(tree):
        if node.get("Node Type") != "Limit":
            continue
        child = (node.get("Plans") or [None])[0]
        while child is not None and child.get("Node Type") in ("Gather Merge", "Result"):
            child = (child.get("Plans") or [None])[0]
        if child is not None and child.get("Node Type") == "Sort":
            found: Node = child
            return found
    return None


@register
class PlanSortForLimit(Rule["PlanSortForLimit.Options"]):
    """ORDER BY ... LIMIT sorts the whole input where an index could give the order.

    What it detects:
        Statements with ORDER BY on columns of one table and a LIMIT, called at least
        `min_calls` times, whose generic plan sorts (a Sort under the Limit) the rows of
        a table of at least `min_rows` rows. The index proposed has the statement's
        equality columns first, then the ORDER BY columns in their direction. When
        IX001 already proposes an index for this statement on that table, the finding is
        info and names it. Medium from `medium_share` of statement time.

    Why it matters:
        With the order from an index, `ORDER BY created_at DESC LIMIT 20` reads 20
        entries and stops; without it, every matching row is read and sorted to keep
        twenty (a top-N heapsort, or a sort to disk).

    Example:
        SELECT * FROM events WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20
        -- Limit > Sort > Seq Scan on events

    What to do:
        Create the index (the action); the Sort disappears from the plan.
    """

    code: ClassVar[str] = "QY102"
    name: ClassVar[str] = "query.plan_sort_limit"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=10, metadata={
            "help": "calls of the statement over the window."})
        min_rows: int = field(default=10_000, metadata={"help": "rows of the sorted table."})
        medium_share: float = field(default=0.1, metadata={
            "help": "share of statement time for medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for item in planned(model, options.min_calls):
            st = item.statement
            if st is None or not st.has_limit:
                continue
            order = [u for u in st.uses if u.use is Use.ORDER]
            tables = {u.table for u in order}
            if not order or len(tables) != 1 or any(u.column is None and u.expression is None
                                                    for u in order):
                continue
            sort = _sort_under_limit(item.plan.tree)
            if sort is None:
                continue
            ref = next(iter(tables))
            rows = table_rows(model.tables.get(ref.relid))
            if rows < options.min_rows:
                continue
            flip = order[0].direction == "desc"
            keys = [k for k in where_keys(st, ref) if k.column not in
                    {u.column for u in order}]
            keys = [k for k in keys if k.column not in {u.column for u in st.uses_of(ref)
                                                        if u.use is Use.RANGE}]
            keys += [IndexKey(u.column, u.expression, (u.direction == "desc") != flip)
                     for u in order]
            candidate = Candidate(ref, tuple(keys))
            if provided_by(candidate, model.indexes_by_table.get(ref.relid, [])):
                continue
            sort_key = ", ".join(str(k) for k in sort.get("Sort Key", []))
            common = (f"The generic plan of queryid {item.queryid} ({item.totals.calls:,} "
                      f"calls) sorts rows of {ref.name} ({rows:,.0f} rows) by {sort_key} to "
                      f"return the first few ({summary(item.plan.tree)}).")
            evidence: dict[str, Any] = {**statement_evidence(model, item.totals),
                                        "sort_key": sort_key, "table_rows": rows,
                                        "plan": summary(item.plan.tree)}
            deferred = deferred_to_ix001(self, model, item.queryid, ref,
                                         "Sort for ORDER BY ... LIMIT", common, evidence,
                                         item.totals.total_ms)
            if deferred is not None:
                yield deferred
                continue
            name, action = index_action(model, candidate)
            yield self.finding(
                severity=plan_severity(self, item, options.medium_share),
                title=f"ORDER BY ... LIMIT sorts {ref.name}: index {candidate.label()} gives "
                      "the order",
                detail=(f"{common} With an index on {candidate.label()} the plan reads the "
                        "first rows in order and stops at the LIMIT.\n  "
                        f"{short(model.statement_text(item.queryid), 300)}"),
                object=ObjectRef(ref.schema, ref.name, name, tuple(k.label() for k in keys)),
                action=action,
                impact={"queryids": [item.queryid]},
                evidence=evidence,
                benefit=item.totals.total_ms,
            )
