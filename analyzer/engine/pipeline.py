"""The one analysis path: snapshot(s) -> model -> rules -> report.

`pgsage analyze`, `pgsage demo` and the sidecar all call these functions, so the demo shows
exactly what a user gets against their own database.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from pgsage.analyzer.advisor.estimate import advise_by_estimate
from pgsage.analyzer.advisor.inputs import hypopg_schema
from pgsage.analyzer.advisor.search import advise_with_hypopg
from pgsage.analyzer.engine.advise import advise, ask, unknown_sources
from pgsage.analyzer.engine.config import Config
from pgsage.analyzer.errors import ServerError, UsageError
from pgsage.analyzer.live.collect import collect
from pgsage.analyzer.live.connection import Session
from pgsage.analyzer.live.explain import Planner, SessionCompromised
from pgsage.analyzer.live.plans import PlanOptions, add_plans
from pgsage.analyzer.live.trust import TrustOptions
from pgsage.analyzer.live.whatif import WhatIf, WhatIfError
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.index_plan import AdvisorOptions, IndexPlan, Progress
from pgsage.analyzer.model.plan_tree import NotExplainable
from pgsage.analyzer.model.snapshot import Snapshot, Target
from pgsage.analyzer.output.index_report import plan_json, plan_text, plan_tree
from pgsage.analyzer.output.report import Report, build

log = logging.getLogger(__name__)

Waiter = Callable[[float], None]
"""Waits the given seconds between two snapshots (the CLI shows progress while it does)."""


def check_baseline(current: Snapshot, baseline: Snapshot) -> None:
    """A baseline must be an older snapshot of the same database on the same server:
    deltas between unrelated counters are numbers about nothing."""
    now, then = current.target, baseline.target
    if (now.database, now.host, now.port) != (then.database, then.host, then.port):
        raise UsageError(f"the baseline snapshot is of {_named(then)}, not {_named(now)}: "
                         "give a snapshot of the same database")
    if baseline.taken_at >= current.taken_at:
        raise UsageError("the baseline snapshot is not older than the current one")


def _named(target: Target) -> str:
    where = f"{target.host or 'local socket'}:{target.port or 5432}"
    return f"database {target.database or '?'} on {where}"


def take_snapshot(dsn: str | None, config: Config) -> Snapshot:
    with Session.open(dsn, config.limits) as session:
        return add_plans(session, _collect(session), options=PlanOptions(trust=config.trust))


def _collect(session: Session, known: set[int] | None = None) -> Snapshot:
    log.info("collecting a snapshot")
    try:
        snapshot = collect(session, known_query_texts=known or ())
    except TimeoutError as exc:  # the bootstrap query itself got no answer
        raise ServerError(f"the session died while collecting: {exc}") from None
    failed = [name for name, status in snapshot.status.items() if not status.ok]
    log.info("collected %d sources%s", len(snapshot.status),
             f" ({len(failed)} skipped: {', '.join(failed)})" if failed else "")
    if session.conn.closed or session.conn.broken:
        # The session died (a frozen backend, the client deadline): the sources it did not
        # read would read as absent, so this is an error, not a report.
        reasons = [s.reason for s in snapshot.status.values() if not s.ok and s.reason]
        why = next((r for r in reasons if "deadline" in r), reasons[0] if reasons else "?")
        raise ServerError(f"the session died while collecting ({len(failed)} of "
                          f"{len(snapshot.status)} sources unread): {why}")
    return snapshot


def estimate_indexes(model: Model, options: AdvisorOptions | None = None) -> Model:
    """The model with its index plan estimated from the snapshot (no session to prove it)."""
    model.index_plan = advise_by_estimate(model, model.workload, options or AdvisorOptions())
    return model


def plan_indexes(session: Session, model: Model, options: AdvisorOptions,
                 progress: Progress | None = None, trust: TrustOptions | None = None
                 ) -> IndexPlan:
    """The index plan, proven with HypoPG when it is installed, estimated otherwise (also
    when the session changed under the planner, which then plans nothing more)."""
    schema = hypopg_schema(model)
    log.info("planning indexes for %d statements (%s)", len(model.workload.statements),
             "HypoPG what-if" if schema is not None else "estimated from pg_stats")
    if schema is None:
        return advise_by_estimate(model, model.workload, options)
    whatif: WhatIf | None = None
    try:
        planner = Planner(session, model.version_num, trust)
        whatif = WhatIf(session, planner, schema)
        return advise_with_hypopg(model, model.workload, planner, whatif, options, progress)
    except SessionCompromised as exc:
        if whatif is not None:
            whatif.reset()
        plan = advise_by_estimate(model, model.workload, options)
        plan.stopped_by = f"planning stopped, {exc}"
        return plan


def analyze_live(dsn: str | None, config: Config, seconds: float | None = None,
                 wait: Waiter = time.sleep, advisor: AdvisorOptions | None = None,
                 progress: Progress | None = None, baseline: Snapshot | None = None) -> Report:
    """Snapshot(s), then index what-if on the same session, then every rule.

    With `seconds`, two snapshots that far apart on one session give the window; with a
    `baseline` snapshot (from a file), the window runs from it to now.
    """
    with Session.open(dsn, config.limits) as session:
        current = _collect(session)
        if baseline is not None:
            check_baseline(current, baseline)
        planning = PlanOptions(trust=config.trust)
        if seconds:
            baseline = add_plans(session, current, options=planning)
            wait(seconds)
            known = {s.queryid for s in current.data.get("statements", [])}
            current = _collect(session, known)
        current = add_plans(session, current, baseline, planning)
        model = Model(current, baseline, host=config.host)
        model.index_plan = plan_indexes(session, model, advisor or AdvisorOptions(), progress,
                                        config.trust)
    return report(model, config)


def explain_before_after(session: Session, model: Model, plan: IndexPlan, queryid: int,
                         trust: TrustOptions | None = None) -> dict[str, Any]:
    """Plans of one statement without and with the chosen indexes (hypothetically)."""
    statement = model.workload.statements.get(queryid)
    if statement is None:
        raise UsageError(f"queryid {queryid} is not a statement pgsage could read and parse "
                         "in pg_stat_statements")
    schema = hypopg_schema(model)
    try:
        planner = Planner(session, model.version_num, trust)
        before = planner.plan(statement)
        after = None
        if schema is not None and plan.choices:
            whatif = WhatIf(session, planner, schema)
            whatif.reset()
            for choice in plan.choices:
                whatif.create(choice.candidate)
            try:
                after = planner.plan(statement)
            finally:
                whatif.reset()
    except (NotExplainable, WhatIfError, SessionCompromised) as exc:
        raise UsageError(f"queryid {queryid} cannot be planned: {exc}") from None
    return {"queryid": str(queryid), "text": statement.text,
            "before": {"total_cost": before.total_cost, "tree": plan_tree(before)},
            "after": ({"total_cost": after.total_cost, "tree": plan_tree(after)}
                      if after is not None else None)}


def indexes_live(dsn: str | None, config: Config, options: AdvisorOptions,
                 explain: int | None = None, progress: Progress | None = None) -> Report:
    """`pgsage indexes`: the index rules only, with the plan's reasoning as a section."""
    with Session.open(dsn, config.limits) as session:
        model = Model(_collect(session), host=config.host)
        plan = plan_indexes(session, model, options, progress, config.trust)
        model.index_plan = plan
        sections: dict[str, Any] = {"index_plan": plan_json(plan)}
        appendix = plan_text(plan)
        if explain is not None:
            shown = explain_before_after(session, model, plan, explain, config.trust)
            sections["explain"] = shown
            appendix += f"\nPlan of queryid {explain} without the new indexes:\n"
            appendix += shown["before"]["tree"]
            appendix += (f"\nWith them:\n{shown['after']['tree']}" if shown["after"] else
                         "\nNo plan with them: HypoPG is not installed or nothing was chosen.\n")
    only_index = dataclasses.replace(config, rules=dataclasses.replace(
        config.rules, select=("index",)))
    return dataclasses.replace(report(model, only_index), sections=sections,
                               appendix=appendix)


def analyze(snapshot: Snapshot, config: Config, baseline: Snapshot | None = None) -> Report:
    """Offline analysis of snapshot files: the index advisor can only estimate here."""
    if baseline is not None:
        check_baseline(snapshot, baseline)
    return report(estimate_indexes(Model(snapshot, baseline, host=config.host)), config)


def planning_notes(model: Model) -> list[str]:
    """What was not planned and why ("not planned: 1 (calls app.esc() ...)"), from the plan
    collector's status and the index plan: a refusal is a finding about pgsage's view."""
    notes = []
    status = model.snapshot.status.get("plans")
    if status is not None and status.ok and status.reason:
        notes.append(f"plans: {status.reason}")
    plan = model.index_plan
    if plan is not None:
        refused = [f"queryid {q} {why}" for q, why in plan.skipped_statements.items()
                   if why.startswith("not planned")]
        if refused:
            notes.append("index advisor: " + "; ".join(refused[:5])
                         + (f" (+{len(refused) - 5} more)" if len(refused) > 5 else ""))
        if plan.stopped_by and plan.stopped_by.startswith("planning stopped"):
            notes.append(f"index advisor: {plan.stopped_by}")
    return notes


def _holder(pid: int) -> str:
    return "a prepared transaction" if pid == 0 else f"pid {pid}"


def locked_notes(model: Model) -> list[str]:
    """The relations whose lock-taking details (sizes, definitions, partition bounds) were
    left unread because another session held or awaited ACCESS EXCLUSIVE on them."""
    notes = []
    tables = sorted(f"{t.schema}.{t.name} ({_holder(t.locked_by)})"
                    for t in model.tables.values() if t.locked_by is not None)
    if tables:
        notes.append("tables: sizes and partition bounds not read for " + ", ".join(tables)
                     + ": an ACCESS EXCLUSIVE lock was held or awaited on them")
    indexes = sorted(f"{ix.schema}.{ix.name} ({_holder(ix.locked_by)})"
                     for ix in model.indexes if ix.locked_by is not None)
    if indexes:
        notes.append("indexes: definitions and sizes not read for " + ", ".join(indexes)
                     + ": an ACCESS EXCLUSIVE lock was held or awaited on them or their "
                     "tables; no index advice acts on them")
    return notes


def report(model: Model, config: Config) -> Report:
    """Every selected rule over a model whose index plan the engine has already made."""
    recommendations, notes = advise(model, config.rules)
    notes.extend(unknown_sources(model, config.rules))
    failures = model.workload.failures
    if failures:
        notes.append(f"{sum(failures.values())} statement(s) could not be parsed and were "
                     "skipped (" + ", ".join(f"{n} {why}" for why, n in failures.items()) + ")")
    notes.extend(planning_notes(model))
    notes.extend(locked_notes(model))
    questions, failed = ask(model, config.rules, recommendations)
    return build(model, recommendations, notes + failed, questions)
