"""A statement's plan changed since the baseline and became more expensive."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import concurrent_definition, ident
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._plans import summary


@register
class PlanChanged(Rule["PlanChanged.Options"]):
    """A statement's plan changed since the baseline and became more expensive.

    What it detects:
        Statements planned in both the baseline and the current snapshot (the plan
        collector keeps each plan's hash) whose plan shape differs and whose estimated
        cost rose at least `factor` times and by at least `min_cost_increase`. The finding
        says which nodes and indexes changed; an index the old plan used that no longer
        exists is recreated by the action (from its definition in the baseline). Low
        when the statement ran fewer than `min_calls` times in the window.

    Why it matters:
        Plans change silently: an index dropped or invalid, statistics refreshed on a
        different sample, a setting changed. The statement keeps working, only slower,
        often by orders of magnitude.

    Example:
        queryid 512: Index Scan using users_email_idx on users (cost 8.3) ->
        Seq Scan on users (cost 2,041.0)

    What to do:
        Recreate the index the old plan used (the action) when it is gone; otherwise
        ANALYZE the statement's tables and compare the plans with `pgsage indexes
        --explain QUERYID`.
    """

    code: ClassVar[str] = "QY105"
    name: ClassVar[str] = "query.plan_changed"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        factor: float = field(default=1.5, metadata={
            "help": "ratio of the new cost to the old, at least."})
        min_cost_increase: float = field(default=10.0, metadata={
            "help": "absolute cost increase, at least."})
        min_calls: int = field(default=10, metadata={
            "help": "calls in the window for the default severity."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        before_all = model.baseline_plans
        if not before_all:
            return
        found = model.totals
        now_indexes = {ix.name for ix in model.indexes}
        old_indexes = {ix.name: ix for ix in model.baseline_indexes.values()}
        for queryid, now in sorted(model.plans.items()):
            before = before_all.get(queryid)
            if before is None or before.plan_hash == now.plan_hash:
                continue
            if now.total_cost < before.total_cost * options.factor \
                    or now.total_cost - before.total_cost < options.min_cost_increase:
                continue
            t = found.get(queryid)
            statement = model.workload.statements.get(queryid)
            lost = [name for name in before.indexes if name not in now.indexes]
            gone = [old_indexes[n] for n in lost if n not in now_indexes and n in old_indexes
                    and old_indexes[n].definition is not None]
            action: Action | None
            if gone:
                action = Action(sql="\n".join(concurrent_definition(ix.known_definition)
                                              for ix in gone),
                                undo_sql="\n".join(f"DROP INDEX CONCURRENTLY IF EXISTS "
                                                   f"{ident(ix.schema, ix.name)};"
                                                   for ix in gone))
                cause = (f"The old plan used {', '.join(ix.name for ix in gone)}, which no "
                         "longer exists: recreating it (the action) restores the old plan.")
            else:
                tables = sorted(statement.tables, key=lambda r: (r.schema, r.name)) \
                    if statement else []
                action = (Action(sql="\n".join(f"ANALYZE {ident(r.schema, r.name)};"
                                               for r in tables)) if tables else None)
                cause = ((f"The old plan used {', '.join(lost)}, which still exists: the "
                          "planner no longer chooses it. ") if lost else "") + \
                    ("Statistics or settings changed: refresh the statistics of its tables "
                     "(the action) and compare the plans.")
            calls = t.calls if t else 0
            severity = self.severity if calls >= options.min_calls else Severity.LOW
            ratio = now.total_cost / max(before.total_cost, 0.01)
            ref = next(iter(statement.tables)) if statement and len(statement.tables) == 1 \
                else None
            yield self.finding(
                severity=severity,
                title=f"Plan of queryid {queryid} changed and costs {ratio:,.1f}x more "
                      f"({before.total_cost:,.1f} -> {now.total_cost:,.1f})",
                detail=(f"Between the baseline and now the plan of queryid {queryid} changed "
                        f"(hash {before.plan_hash} -> {now.plan_hash}), its estimated cost from "
                        f"{before.total_cost:,.1f} to {now.total_cost:,.1f}; it ran {calls:,} "
                        f"times in the window.\n  before: {summary(before.tree)}\n  now:    "
                        f"{summary(now.tree)}\n{cause}\n  "
                        f"{short(model.statement_text(queryid), 300)}"),
                object=ObjectRef(ref.schema, ref.name) if ref else ObjectRef(),
                action=action,
                impact={"queryids": [queryid], "cost_before": before.total_cost,
                        "cost_after": now.total_cost},
                evidence={**(statement_evidence(model, t) if t else {"queryid": str(queryid)}),
                          "plan_hash_before": before.plan_hash, "plan_hash_now": now.plan_hash,
                          "cost_before": before.total_cost, "cost_now": now.total_cost,
                          "plan_before": summary(before.tree), "plan_now": summary(now.tree),
                          "indexes_no_longer_used": lost,
                          "indexes_gone": [ix.name for ix in gone]},
                benefit=(now.total_cost - before.total_cost) * max(calls, 1),
            )
