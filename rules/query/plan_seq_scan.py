"""The plan reads a large table sequentially to keep a small part of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pgsage.analyzer.advisor.candidates import provided_by
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate
from pgsage.analyzer.model.plan_tree import Node, walk
from pgsage.analyzer.model.workload import TableRef
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
    where_keys,
)


@register
class PlanSeqScan(Rule["PlanSeqScan.Options"]):
    """The plan reads a large table sequentially to keep a small part of it.

    What it detects:
        In the generic plan of a statement called at least `min_calls` times, a
        sequential scan with a filter on a table of at least `min_rows` rows where the
        planner expects the filter to keep at most `max_selectivity` of the rows. The
        index proposed is on the statement's equality columns, then one range column.
        When IX001 already proposes an index for this statement on that table, the
        finding is info and names it. Medium from `medium_share` of statement time.

    Why it matters:
        Reading a million rows to return a hundred costs the whole table's I/O and CPU on
        every call, and evicts useful pages from the cache.

    Example:
        Seq Scan on orders  Filter: (status = $1)   -- 2M rows, 0.5% expected to match

    What to do:
        Create the index (the action builds it CONCURRENTLY); `pgsage indexes --explain
        QUERYID` shows the plan with pgsage's proposed indexes.
    """

    code: ClassVar[str] = "QY101"
    name: ClassVar[str] = "query.plan_seq_scan"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=10, metadata={
            "help": "calls of the statement over the window."})
        min_rows: int = field(default=100_000, metadata={"help": "rows of the scanned table."})
        max_selectivity: float = field(default=0.05, metadata={
            "help": "share of the table's rows the filter keeps, at most."})
        medium_share: float = field(default=0.1, metadata={
            "help": "share of statement time for medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for item in planned(model, options.min_calls):
            seen: set[int] = set()
            for node, parent in walk(item.plan.tree):
                if node.get("Node Type") != "Seq Scan" or "Filter" not in node:
                    continue
                ref = resolve(model, item.statement, node.get("Relation Name"))
                if ref is None or ref.relid in seen:
                    continue
                rows = table_rows(model.tables.get(ref.relid))
                workers = (int(parent.get("Workers Planned", 0)) + 1
                           if parent and node.get("Parallel Aware") else 1)
                kept = float(node.get("Plan Rows", 0)) * workers
                if rows < options.min_rows or kept / rows > options.max_selectivity:
                    continue
                seen.add(ref.relid)
                finding = self._finding(model, item, ref, node, rows, kept, options)
                if finding is not None:
                    yield finding

    def _finding(self, model: Model, item: PlannedStatement, ref: TableRef, node: Node, rows: float,
                 kept: float, options: Options) -> Recommendation | None:
        common = (f"The generic plan of queryid {item.queryid} ({item.totals.calls:,} calls, "
                  f"{item.share:.0%} of statement time) reads all {rows:,.0f} rows of "
                  f"{ref.name} to keep about {kept:,.0f} ({kept / rows:.2%}): Filter "
                  f"{node.get('Filter')}.")
        evidence: dict[str, Any] = {**statement_evidence(model, item.totals),
                                    "table_rows": rows, "plan_rows": kept,
                                    "filter": node.get("Filter"), "plan": summary(item.plan.tree)}
        deferred = deferred_to_ix001(self, model, item.queryid, ref, f"Seq scan of {ref.name}",
                                     common, evidence, item.totals.total_ms)
        if deferred is not None:
            return deferred
        keys = where_keys(item.statement, ref)
        if not keys:
            return None
        candidate = Candidate(ref, tuple(keys))
        if provided_by(candidate, model.indexes_by_table.get(ref.relid, [])):
            return None  # an index exists: the generic estimate, not a missing index
        name, action = index_action(model, candidate)
        return self.finding(
            severity=plan_severity(self, item, options.medium_share),
            title=f"Seq scan of {rows:,.0f} rows of {ref.name} keeps {kept / rows:.2%}: "
                  f"index {candidate.label()}",
            detail=(f"{common} An index on {candidate.label()} lets the planner read only the "
                    "matching rows. The index advisor did not choose it (without HypoPG it "
                    f"only estimates): check with `pgsage indexes --explain {item.queryid}`."
                    f"\n  {short(model.statement_text(item.queryid), 300)}"),
            object=ObjectRef(ref.schema, ref.name, name, tuple(k.label() for k in keys)),
            action=action,
            impact={"queryids": [item.queryid]},
            evidence=evidence,
            benefit=item.totals.total_ms,
        )
