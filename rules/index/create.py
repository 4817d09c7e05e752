"""IX001: indexes to create, from the index advisor's whole-workload plan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.index_plan import IndexChoice, IndexPlan
from pgsage.analyzer.units import format_bytes
from pgsage.rules._support.workload import short
from pgsage.rules.base import Rule, register


def _severity(share: float, proven: bool, options: CreateIndex.Options) -> Severity:
    if share >= options.high_share and proven:
        return Severity.HIGH
    if share >= options.medium_share:
        return Severity.MEDIUM
    return Severity.LOW


def _action(choice: IndexChoice) -> Action:
    return Action(sql=choice.create_sql(), undo_sql=choice.undo_sql())


@register
class CreateIndex(Rule["CreateIndex.Options"]):
    """An index the workload needs, chosen for the whole workload and proven by the planner.

    What it detects:
        Statements from pg_stat_statements whose cost the planner would cut with an index
        that does not exist. Candidates come from how each statement uses its columns
        (equality, range, sort with LIMIT, expressions, jsonb, full-text, trigram, BRIN).
        With HypoPG installed, each candidate is planned hypothetically (no writes) with the
        indexes already chosen in place, and picked greedily by net benefit per byte: the
        planner's cost saved, weighted by calls, minus the cost of maintaining the index
        on every row written to its table and of updates that stop being HOT. Without
        HypoPG the same candidates are ranked from pg_stats, and the finding says so.

    Why it matters:
        A missing index turns a lookup into a scan of the whole table on every call. Adding
        indexes one statement at a time, instead, leaves overlapping indexes that all slow
        down writes; this plan is for the whole workload at once.

    Example:
        SELECT * FROM orders WHERE user_id = $1 ORDER BY created_at DESC LIMIT 10
        -- 50,000 calls, each reading 1M rows: orders (user_id, created_at DESC)

    What to do:
        Run the CREATE INDEX CONCURRENTLY statement (it does not block writes; it fails,
        leaving an INVALID index to drop, if it meets a conflict). When the finding says
        the new index makes an existing one redundant, drop that one after the new index
        is built and in use. `pgsage indexes --explain QUERYID` shows the plans before and
        after for one statement.

    Options:
        The search itself is tuned by `pgsage indexes` flags: --budget, --max-new, --min-
        improvement, --time-limit.
    References:
        Kossmann et al., "Magic mirror in my hand, which is the best in the land? An
        Experimental Evaluation of Index Selection Algorithms", PVLDB 13(11), 2020.
    """

    code: ClassVar[str] = "IX001"
    name: ClassVar[str] = "index.create"
    category: ClassVar[Category] = Category.INDEX
    severity: ClassVar[Severity] = Severity.MEDIUM
    reads: ClassVar[tuple[str, ...]] = ("indexes", "constraints")

    @dataclass(frozen=True)
    class Options:
        high_share: float = field(default=0.20, metadata={
            "help": "share of the considered workload's cost an index saves to be rated high."})
        medium_share: float = field(default=0.05, metadata={
            "help": "share of the considered workload's cost an index saves to be rated "
                    "medium (below: low)."})
        max_statements_listed: int = field(default=5, metadata={
            "help": "statements an index speeds up listed in the finding at most."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        plan = model.index_plan
        total = plan.workload_cost or sum(
            e.calls * e.cost_before for c in plan.choices for e in c.effects) or 1.0
        for choice in plan.choices:
            yield self._finding(model, plan, choice, total, options)

    def _finding(self, model: Model, plan: IndexPlan, choice: IndexChoice, total: float,
                 options: Options) -> Recommendation:
        cand = choice.candidate
        calls = sum(e.calls for e in choice.effects) or 1
        before = sum(e.calls * e.cost_before for e in choice.effects)
        after = sum(e.calls * e.cost_after for e in choice.effects)
        share = (before - after) / total
        if choice.proven:
            proof = "Proven with HypoPG: the planner chose this hypothetical index"
        elif cand.method == "gin":
            proof = ("Estimated (HypoPG cannot simulate GIN indexes): the statements scan the "
                     "whole table today, and an index scan would read a small share of it")
        else:
            proof = ("Estimated from pg_stats (HypoPG is not installed: CREATE EXTENSION "
                     "hypopg makes pgsage prove it with the planner)")
        listed = sorted(choice.effects, key=lambda e: -(e.calls * (e.cost_before - e.cost_after)))
        lines = [f"  - queryid {e.queryid}: {e.calls} calls, cost {e.cost_before:,.1f} -> "
                 f"{e.cost_after:,.1f} per call: {short(e.text)}"
                 for e in listed[: options.max_statements_listed]]
        if len(listed) > options.max_statements_listed:
            lines.append(f"  - and {len(listed) - options.max_statements_listed} more")
        writes = (f"{choice.rows_written:,.0f} rows were written to {cand.table.name} in "
                  f"{model.window.describe()}; each adds an entry to this index")
        if choice.hot_updates_lost:
            writes += (f", and {choice.hot_updates_lost:,.0f} HOT updates would no longer be "
                       "HOT because an updated column becomes indexed")
        supported = [c.name for c in model.constraints
                     if c.type == "f" and c.relid == cand.table.relid and
                     set(cand.key_columns()[: len(c.columns)]) == set(c.columns)]
        replaces = (f" It also supports foreign key {', '.join(supported)} (deletes and key "
                    "updates on the referenced table stop scanning this one)."
                    if supported else "")
        if choice.replaces:
            names = ", ".join(ix.name for ix in choice.replaces)
            replaces += (f" It makes {names} redundant (a prefix of its keys): create this "
                        f"index, then drop {names}.")
        detail = (f"{proof} for {len(choice.effects)} statement(s) with {calls:,} calls in "
                  f"{model.window.describe()}; their calls-weighted cost falls from "
                  f"{before:,.0f} to {after:,.0f} ({(before - after) / max(before, 1):.0%} less, "
                  f"{share:.0%} of the statements considered). Estimated size "
                  f"{format_bytes(choice.size_bytes)}. Write overhead: {writes}.{replaces}\n"
                  + "\n".join(lines))
        return self.finding(
            severity=_severity(share, choice.proven, options),
            title=f"Create index {cand.label()}: {len(choice.effects)} statement(s), cost "
                  f"{before / calls:,.1f} -> {after / calls:,.1f} per call",
            detail=detail,
            object=ObjectRef(cand.table.schema, cand.table.name, choice.name,
                             tuple(k.label() for k in cand.keys)),
            action=_action(choice),
            impact={"queryids": [str(q) for q in choice.queryids],
                    "cost_before": round(before / calls, 2),
                    "cost_after": round(after / calls, 2),
                    "est_index_bytes": choice.size_bytes,
                    "workload_share": round(share, 4),
                    "confidence": "what-if" if choice.proven else "estimate",
                    "replaces": [ix.name for ix in choice.replaces]},
            evidence={"statements": [{"queryid": str(e.queryid), "calls": e.calls,
                                      "cost_before": round(e.cost_before, 2),
                                      "cost_after": round(e.cost_after, 2)}
                                     for e in listed],
                      "rows_written": choice.rows_written,
                      "hot_updates_lost": choice.hot_updates_lost,
                      "write_overhead_cost": round(choice.write_overhead, 1),
                      "method": plan.method},
            benefit=choice.benefit,
        )
