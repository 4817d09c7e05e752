"""The statements that take the largest share of the database's time, with a drill-down."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.units import format_bytes
from pgsage.rules._support.workload import (
    block_size,
    is_catalog_only,
    short,
    statement_evidence,
    workload_ms,
)
from pgsage.rules.base import Rule, register
from pgsage.rules.query._statements import statement_object


def describe(model: Model, t: Totals) -> str:
    """Calls, mean, rows, cache, temp, planning and WAL of one statement, in a sentence."""
    hit = f"{t.hit_ratio:.1%}" if t.hit_ratio is not None else "n/a"
    plan = (f"planning {t.mean_plan_ms:,.2f} ms vs execution {t.mean_exec_ms:,.2f} ms per "
            "call" if t.plans else f"{t.mean_exec_ms:,.2f} ms execution per call (planning "
            "not tracked: pg_stat_statements.track_planning is off)")
    return (f"{t.calls:,} calls, {t.rows_per_call:,.1f} rows per call, {plan}, cache hit "
            f"{hit}, {format_bytes(t.temp_written * block_size(model))} temp written, "
            f"{format_bytes(t.wal_bytes)} WAL")


@register
class TopStatements(Rule["TopStatements.Options"]):
    """The statements that take the largest share of the database's time, with a drill-down.

    What it detects:
        Statements that take at least `min_share` of all statement time (planning plus
        execution of top-level statements) over the window, at most `max_statements` of
        them, skipping statements about the catalog only (monitoring) and utility
        commands (DDL, VACUUM, COPY). Each comes with
        what was measured: calls, mean and standard deviation, rows per call, cache hit
        ratio, temp blocks, planning against execution time, WAL bytes, and its plan's
        cost and hash when the plan collector planned it.

        Severity: info; low from `low_share`; medium only when one statement dominates
        (at least `dominant_share` of the time) and keeps on average `dominant_busy` of
        a backend busy over the window. The other findings for the same queryid, when
        there are some, are named in the detail: they say what to change.

    Why it matters:
        A handful of statements usually accounts for most of the load: that is where a
        fix pays off. Ranking by total time, not by mean, finds the fast statement
        called a million times as well as the slow report.

    Example:
        queryid 4211: 38% of statement time, 52,000 calls, 4.1 ms mean, 1 row per call

    What to do:
        Read the other findings named for this queryid; `pgsage indexes --explain QUERYID`
        shows its plan with and without the indexes pgsage proposes.
    """

    code: ClassVar[str] = "QY001"
    name: ClassVar[str] = "query.top_statements"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.INFO
    names_related_findings: ClassVar[bool] = True

    @dataclass(frozen=True)
    class Options:
        min_share: float = field(default=0.05, metadata={
            "help": "share of statement time from which a statement is listed."})
        max_statements: int = field(default=5, metadata={"help": "statements listed at most."})
        min_workload_ms: float = field(default=100.0, metadata={
            "help": "total statement time below which nothing is reported (an idle database)."})
        low_share: float = field(default=0.2, metadata={
            "help": "share of statement time from which the finding is low."})
        dominant_share: float = field(default=0.5, metadata={
            "help": "share of statement time from which the finding may be medium."})
        dominant_busy: float = field(default=0.1, metadata={
            "help": "average share of one backend's time the dominant statement needs to be "
                    "medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = model.totals
        total = workload_ms(found)
        if total < options.min_workload_ms:
            return
        window_ms = model.window.seconds * 1000
        listed = 0
        for t in sorted(found.values(), key=lambda t: -t.total_ms):
            share = min(t.total_ms / total, 1.0)
            if listed >= options.max_statements or share < options.min_share:
                break
            statement = model.workload.statements.get(t.queryid)
            if is_catalog_only(statement) or (statement is not None
                                              and statement.kind in ("utility", "other")):
                continue  # monitoring, DDL and maintenance are not the workload to fix
            listed += 1
            busy = t.total_ms / window_ms if window_ms > 0 else 0.0
            severity = Severity.INFO
            if share >= options.low_share:
                severity = Severity.LOW
            if share >= options.dominant_share and busy >= options.dominant_busy:
                severity = Severity.MEDIUM
            plan = model.plans.get(t.queryid)
            plan_text = (f" Its generic plan costs {plan.total_cost:,.1f} (plan hash "
                         f"{plan.plan_hash})." if plan else "")
            text = model.statement_text(t.queryid)
            explain = (f" `pgsage indexes --explain {t.queryid}` shows its plan."
                       if statement is not None and statement.plain_select else "")
            yield self.finding(
                severity=severity,
                title=f"queryid {t.queryid} takes {share:.0%} of statement time: "
                      f"{short(text, 70)}",
                detail=(f"Over {model.window.describe()} this statement took "
                        f"{t.total_ms / 1000:,.1f} s of {total / 1000:,.1f} s of statement "
                        f"time ({share:.1%}; on average {busy:.1%} of one backend): "
                        f"{describe(model, t)}.{plan_text}{explain}\n  {short(text, 400)}"),
                object=statement_object(statement),
                impact={"queryids": [t.queryid], "share_of_time": round(share, 4)},
                evidence={**statement_evidence(model, t), "share_of_time": round(share, 4),
                          "backend_busy": round(busy, 4),
                          "plan_cost": plan.total_cost if plan else None,
                          "plan_hash": plan.plan_hash if plan else None},
                benefit=t.total_ms,
            )
