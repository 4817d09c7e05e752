"""The plan collector: generic EXPLAIN plans of the top statements, with a plan hash.

It is not a catalog collector (see `collectors/plans.py`): it needs the workload model to
decide what may be planned, so it runs after collection on the same safe session, through
`analyzer.explain.Planner`. Only statements whose text parses to exactly one plain SELECT
are planned, from pglast's regeneration of the text, as generic plans; nothing is executed.
The result is added to the snapshot as the `plans` entry with its own collector status, so
`pgsage snapshot` files carry plans and a later analysis can compare them.

The plan hash covers a plan's shape (node types, join types and strategies, relations,
indexes, scan direction), not costs or row estimates: statistics drift changes costs on
every ANALYZE, while a changed shape is a different plan.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import psycopg

from pgsage.analyzer.live.connection import Session, first_line
from pgsage.analyzer.live.explain import Planner, SessionCompromised
from pgsage.analyzer.live.trust import TrustOptions
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.plan_tree import NotExplainable, record, top_queryids
from pgsage.analyzer.model.snapshot import CollectorStatus, Snapshot
from pgsage.collectors.plans import NAME, StatementPlan

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class PlanOptions:
    top_n: int = 20
    """Statements planned per snapshot, the largest by total (planning + execution) time."""
    time_budget_s: float = 10.0
    """Stop planning after this long; each EXPLAIN is bounded by statement_timeout too."""
    trust: TrustOptions = field(default_factory=TrustOptions)
    """Functions and schemas planned although their owner is not trusted."""


def collect_plans(session: Session, model: Model, options: PlanOptions | None = None
                  ) -> tuple[list[StatementPlan], CollectorStatus]:
    """Plan the top statements of `model` on `session`.

    Statements that may not be planned (not a plain SELECT, truncated text) are passed over
    for the next ones; statements the server refuses to plan (a privilege, a dropped
    table, a timeout) are counted in the status reason, never fatal.
    """
    options = options or PlanOptions()
    started = time.perf_counter()
    if not model.collected("statements"):
        return [], CollectorStatus(ok=False, reason="nothing to plan: pg_stat_statements was "
                                   "not collected (" + (model.skipped_reason("statements")
                                                        or "?") + ")")
    workload = model.workload
    ranked = top_queryids(model.statements, len(model.statements))
    records: list[StatementPlan] = []
    refused: dict[str, int] = {}
    if not ranked:
        return [], CollectorStatus(ok=True, rows=0, seconds=time.perf_counter() - started)
    stopped: str | None = None
    try:
        planner = Planner(session, model.version_num, options.trust)
        for queryid in ranked:
            if len(records) >= options.top_n:
                break
            if time.perf_counter() - started > options.time_budget_s:
                refused["time budget spent"] = refused.get("time budget spent", 0) + 1
                break
            statement = workload.statements.get(queryid)
            # Only statements over the application's tables: one over none (pgsage's own
            # bootstrap, `SELECT now()`) has no plan a rule could improve.
            if statement is None or not statement.plain_select or not statement.tables:
                continue
            try:
                plan = planner.plan(statement)
            except NotExplainable as exc:
                why = _refusal(str(exc))
                refused[why] = refused.get(why, 0) + 1
                log.info("queryid %s not planned: %s", queryid, exc)
                continue
            records.append(record(queryid, plan))
    except SessionCompromised as exc:
        stopped = f"stopped planning: {exc}"
        log.warning("plan collector: %s", stopped)
    notes = [stopped] if stopped else []
    if refused:
        notes.append("not planned: " + ", ".join(f"{n} ({why})" for why, n in refused.items()))
    reason = "; ".join(notes) or None
    return records, CollectorStatus(ok=stopped is None, rows=len(records),
                                    seconds=time.perf_counter() - started, reason=reason)


def _refusal(message: str) -> str:
    """What a refusal counts under: the trust check's whole reason (`calls app.esc() (owner
    app is not a superuser)`), the server's message up to its first colon otherwise."""
    if message.startswith("not planned: "):
        return message.removeprefix("not planned: ")[:160]
    return message.split(":")[0][:80]


def with_plans(snapshot: Snapshot, records: list[StatementPlan],
               status: CollectorStatus) -> Snapshot:
    """The snapshot with its `plans` entry (and that entry's status) set."""
    return dataclasses.replace(snapshot, data={**snapshot.data, NAME: list(records)},
                               status={**snapshot.status, NAME: status})


def failed(snapshot: Snapshot, reason: str) -> Snapshot:
    return dataclasses.replace(snapshot, status={**snapshot.status,
                                                 NAME: CollectorStatus(ok=False, reason=reason)})


def add_plans(session: Session, snapshot: Snapshot, baseline: Snapshot | None = None,
              options: PlanOptions | None = None) -> Snapshot:
    """The pipeline's plan step: `snapshot` with the plans of its top statements.

    Statements are ranked over the window from `baseline` when given. A server that refuses
    (a timeout, a privilege) gives a failed `plans` status; only a lost connection raises.
    """
    try:
        records, status = collect_plans(session, Model(snapshot, baseline), options)
    except (psycopg.Error, TimeoutError) as exc:
        log.info("plan collector failed: %s", exc)
        return failed(snapshot, first_line(str(exc)))
    return with_plans(snapshot, records, status)
