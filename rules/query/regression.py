"""A statement got slower: its mean time rose by a factor at a similar number of rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.collectors.statements import StatementStats
from pgsage.rules._support.workload import short, statement_evidence, workload_ms
from pgsage.rules.base import Rule, register
from pgsage.rules.query._statements import statement_object


def _baseline_means(model: Model) -> dict[int, tuple[int, float, float]]:
    """queryid -> (calls, mean ms, rows per call) as of the baseline (cumulative)."""
    if model.baseline is None:
        return {}
    sums: dict[int, list[float]] = {}
    for s in model.baseline.rows("statements", StatementStats):
        acc = sums.setdefault(s.queryid, [0.0, 0.0, 0.0])
        acc[0] += s.calls
        acc[1] += s.total_exec_time
        acc[2] += s.rows
    return {q: (int(c), e / c, r / c) for q, (c, e, r) in sums.items() if c > 0}


@register
class Regression(Rule["Regression.Options"]):
    """A statement got slower: its mean time rose by a factor at a similar number of rows.

    What it detects:
        With a baseline (`--baseline` or `--interval`), statements whose mean execution
        time over the window is at least `factor` times their mean as of the baseline,
        while rows per call stayed within `rows_tolerance` (so it is not simply returning
        more), with at least `min_calls` calls on both sides and at least `min_added_ms`
        of extra time over the window. A statement new in the window has no past and is
        never a regression. Medium from `high_factor` or when the extra time is at least
        `medium_share` of statement time.

    Why it matters:
        The same statement doing the same work more slowly means something changed: a
        plan (an index dropped, statistics drifted), bloat, a cache that no longer
        holds the data, or locking. It is cheapest to fix while the change is recent.

    Example:
        queryid 88: 1.2 ms -> 45 ms mean, 1 row per call before and after

    What to do:
        Look at QY105 (plan changed) for the same queryid first. Otherwise refresh the
        statistics of the statement's tables (the action) and compare its plan with
        `pgsage indexes --explain QUERYID`; check MT findings for bloat on those tables.
    """

    code: ClassVar[str] = "QY012"
    name: ClassVar[str] = "query.regression"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        factor: float = field(default=2.0, metadata={
            "help": "ratio of means from which a statement is reported."})
        high_factor: float = field(default=5.0, metadata={"help": "ratio from which it is medium."})
        rows_tolerance: float = field(default=1.5, metadata={
            "help": "rows per call may differ by at most this ratio."})
        min_calls: int = field(default=20, metadata={
            "help": "calls needed in the window and before it."})
        min_added_ms: float = field(default=100.0, metadata={
            "help": "extra execution time over the window at least."})
        medium_share: float = field(default=0.1, metadata={
            "help": "share of statement time the extra time needs for medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        before = _baseline_means(model)
        if not before:
            return
        found = model.totals
        total = workload_ms(found) or 1.0
        for t in found.values():
            past = before.get(t.queryid)
            if past is None or t.calls < options.min_calls or past[0] < options.min_calls:
                continue
            calls_before, mean_before, rows_before = past
            if mean_before <= 0:
                continue
            ratio = t.mean_exec_ms / mean_before
            added = (t.mean_exec_ms - mean_before) * t.calls
            rows_now = t.rows_per_call
            similar = (max(rows_now, rows_before) + 1) / (min(rows_now, rows_before) + 1)
            if ratio < options.factor or added < options.min_added_ms \
                    or similar > options.rows_tolerance:
                continue
            statement = model.workload.statements.get(t.queryid)
            old, new = model.baseline_plans.get(t.queryid), model.plans.get(t.queryid)
            plan_note = ""
            if old and new and old.plan_hash != new.plan_hash:
                plan_note = (f" Its plan changed (hash {old.plan_hash} -> {new.plan_hash}, cost "
                             f"{old.total_cost:,.1f} -> {new.total_cost:,.1f}): see QY105.")
            tables = sorted(statement.tables, key=lambda r: (r.schema, r.name)) \
                if statement else []
            action = (Action(sql="\n".join(f"ANALYZE {ident(r.schema, r.name)};"
                                           for r in tables)) if tables else None)
            severity = (Severity.MEDIUM if ratio >= options.high_factor
                        or added / total >= options.medium_share else self.severity)
            yield self.finding(
                severity=severity,
                title=f"queryid {t.queryid} is {ratio:.1f}x slower: {mean_before:,.2f} -> "
                      f"{t.mean_exec_ms:,.2f} ms per call",
                detail=(f"As of the baseline, queryid {t.queryid} averaged {mean_before:,.3f} ms "
                        f"over {calls_before:,} calls ({rows_before:,.1f} rows per call); over "
                        f"{model.window.describe()} it averaged {t.mean_exec_ms:,.3f} ms over "
                        f"{t.calls:,} calls ({rows_now:,.1f} rows per call): the same work, "
                        f"{added / 1000:,.1f} s more in all.{plan_note} Refreshing the "
                        "statistics of its tables is the first, cheap step; then compare its "
                        f"plan (`pgsage indexes --explain {t.queryid}`).\n  "
                        f"{short(model.statement_text(t.queryid), 300)}"),
                object=statement_object(statement),
                action=action,
                impact={"queryids": [t.queryid], "added_ms": round(added, 1)},
                evidence={**statement_evidence(model, t), "mean_exec_ms_before":
                          round(mean_before, 3), "calls_before": calls_before,
                          "rows_per_call_before": round(rows_before, 2),
                          "ratio": round(ratio, 2),
                          "plan_hash_before": old.plan_hash if old else None,
                          "plan_hash_now": new.plan_hash if new else None},
                benefit=added,
            )
