"""A statement spends as long being planned as being executed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.rules._support.workload import short, statement_evidence, workload_ms
from pgsage.rules.base import Rule, register
from pgsage.rules.query._statements import statement_object


@register
class PlanningTime(Rule["PlanningTime.Options"]):
    """A statement spends as long being planned as being executed.

    What it detects:
        Statements planned at least `min_plans` times whose mean planning time is at least
        `ratio` times their mean execution time, with at least `min_plan_ms` of planning
        over the window. Needs `pg_stat_statements.track_planning = on` (off by default:
        without it planning time is not recorded and the rule says nothing). Medium when
        the planning time is at least `medium_share` of all statement time.

    Why it matters:
        Planning is paid on every execution unless the plan is reused. Statements over
        many partitions (each adds planning work before pruning at run time), with many
        joins, or with huge IN lists can plan for milliseconds and run in microseconds.

    Example:
        SELECT ... FROM events WHERE tenant_id = $1   -- 900 partitions: 4 ms planning,
        0.2 ms execution

    What to do:
        Reuse plans: server-side prepared statements from the driver (psycopg
        `prepare_threshold`, JDBC `prepareThreshold`, asyncpg by default; through
        PgBouncer in transaction mode from 1.21 with `max_prepared_statements`). For
        partitioned tables, fewer partitions; for many joins, fewer joins or a lower
        `join_collapse_limit` for that statement.
    """

    code: ClassVar[str] = "QY013"
    name: ClassVar[str] = "query.planning_time"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_plans: int = field(default=100, metadata={"help": "plans over the window at least."})
        ratio: float = field(default=1.0, metadata={
            "help": "mean planning time over mean execution time from which it is reported."})
        min_plan_ms: float = field(default=1000.0, metadata={
            "help": "planning milliseconds over the window at least."})
        medium_share: float = field(default=0.1, metadata={
            "help": "share of statement time for medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = model.totals
        total = workload_ms(found) or 1.0
        for t in found.values():
            if t.plans < options.min_plans or t.plan_ms < options.min_plan_ms:
                continue
            if t.mean_plan_ms < options.ratio * max(t.mean_exec_ms, 1e-6):
                continue
            statement = model.workload.statements.get(t.queryid)
            partitions = 0
            for ref in statement.tables if statement else ():
                partitions += sum(1 for other in model.tables.values()
                                  if other.parent_relid == ref.relid and other.is_partition)
            why = []
            if partitions:
                why.append(f"it reads partitioned tables with {partitions} partitions in all")
            if statement and len(statement.tables) >= 6:
                why.append(f"it joins {len(statement.tables)} tables")
            reason = ("; ".join(why) + ". ") if why else ""
            yield self.finding(
                severity=(Severity.MEDIUM if t.plan_ms / total >= options.medium_share
                          else self.severity),
                title=f"queryid {t.queryid} plans for {t.mean_plan_ms:,.2f} ms and runs for "
                      f"{t.mean_exec_ms:,.2f} ms",
                detail=(f"Over {model.window.describe()} queryid {t.queryid} was planned "
                        f"{t.plans:,} times, {t.plan_ms / 1000:,.1f} s in all, more than its "
                        f"execution time. {reason}Reuse the plan with server-side prepared "
                        "statements (psycopg prepare_threshold, JDBC prepareThreshold, asyncpg "
                        "by default; PgBouncer 1.21+ max_prepared_statements in transaction "
                        "mode); for partitioned tables use fewer partitions.\n  "
                        f"{short(model.statement_text(t.queryid), 300)}"),
                object=statement_object(statement),
                impact={"queryids": [t.queryid], "plan_ms": round(t.plan_ms, 1)},
                evidence={**statement_evidence(model, t), "partitions": partitions},
                benefit=t.plan_ms,
            )
