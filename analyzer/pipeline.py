"""The one analysis path: snapshot(s) -> model -> rules -> report.

`pgsage analyze`, `pgsage demo` and the sidecar all call these functions, so the demo shows
exactly what a user gets against their own database.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from analyzer.advise import advise, ask
from analyzer.collect import collect
from analyzer.config import Config
from analyzer.connection import Session
from analyzer.errors import UsageError
from analyzer.explain import NotExplainable, Planner
from analyzer.index_advisor import (
    AdvisorOptions,
    IndexPlan,
    Progress,
    advise_by_estimate,
    advise_with_hypopg,
    hypopg_schema,
)
from analyzer.index_report import plan_json, plan_text, plan_tree
from analyzer.model import Model
from analyzer.plans import add_plans
from analyzer.report import Report, build
from analyzer.snapshot import Snapshot
from analyzer.whatif import WhatIf

Waiter = Callable[[float], None]
"""Waits the given seconds between two snapshots (the CLI shows progress while it does)."""


def take_snapshot(dsn: str | None, config: Config) -> Snapshot:
    with Session.open(dsn, config.limits) as session:
        return add_plans(session, collect(session))


def plan_indexes(session: Session, model: Model, options: AdvisorOptions,
                 progress: Progress | None = None) -> IndexPlan:
    """The index plan, proven with HypoPG when it is installed, estimated otherwise."""
    schema = hypopg_schema(model)
    if schema is None:
        return advise_by_estimate(model, model.workload, options)
    planner = Planner(session, model.version_num)
    try:
        return advise_with_hypopg(model, model.workload, planner,
                                  WhatIf(session, planner, schema), options, progress)
    finally:
        planner.close()


def analyze_live(dsn: str | None, config: Config, seconds: float | None = None,
                 wait: Waiter = time.sleep, advisor: AdvisorOptions | None = None,
                 progress: Progress | None = None, baseline: Snapshot | None = None) -> Report:
    """Snapshot(s), then index what-if on the same session, then every rule.

    With `seconds`, two snapshots that far apart on one session give the window; with a
    `baseline` snapshot (from a file), the window runs from it to now.
    """
    with Session.open(dsn, config.limits) as session:
        current = collect(session)
        if baseline is not None and baseline.taken_at >= current.taken_at:
            raise UsageError("the baseline snapshot is not older than the current one")
        if seconds:
            baseline = add_plans(session, current)
            wait(seconds)
            known = {s.queryid for s in current.data.get("statements", [])}
            current = collect(session, known_query_texts=known)
        current = add_plans(session, current, baseline)
        model = Model(current, baseline, host=config.host)
        model.live_index_plan = plan_indexes(session, model, advisor or AdvisorOptions(), progress)
    return _report(model, config)


def explain_before_after(session: Session, model: Model, plan: IndexPlan,
                         queryid: int) -> dict[str, Any]:
    """Plans of one statement without and with the chosen indexes (hypothetically)."""
    statement = model.workload.statements.get(queryid)
    if statement is None:
        raise UsageError(f"queryid {queryid} is not a statement pgsage could read and parse "
                         "in pg_stat_statements")
    planner = Planner(session, model.version_num)
    schema = hypopg_schema(model)
    try:
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
    except NotExplainable as exc:
        raise UsageError(f"queryid {queryid} cannot be planned: {exc}") from None
    finally:
        planner.close()
    return {"queryid": str(queryid), "text": statement.text,
            "before": {"total_cost": before.total_cost, "tree": plan_tree(before)},
            "after": ({"total_cost": after.total_cost, "tree": plan_tree(after)}
                      if after is not None else None)}


def indexes_live(dsn: str | None, config: Config, options: AdvisorOptions,
                 explain: int | None = None, progress: Progress | None = None) -> Report:
    """`pgsage indexes`: the index rules only, with the plan's reasoning as a section."""
    with Session.open(dsn, config.limits) as session:
        model = Model(collect(session), host=config.host)
        plan = plan_indexes(session, model, options, progress)
        model.live_index_plan = plan
        sections: dict[str, Any] = {"index_plan": plan_json(plan)}
        appendix = plan_text(plan)
        if explain is not None:
            shown = explain_before_after(session, model, plan, explain)
            sections["explain"] = shown
            appendix += f"\nPlan of queryid {explain} without the new indexes:\n"
            appendix += shown["before"]["tree"]
            appendix += (f"\nWith them:\n{shown['after']['tree']}" if shown["after"] else
                         "\nNo plan with them: HypoPG is not installed or nothing was chosen.\n")
    only_index = dataclasses.replace(config, rules=dataclasses.replace(
        config.rules, select=("index",)))
    return dataclasses.replace(_report(model, only_index), sections=sections,
                               appendix=appendix)


def analyze(snapshot: Snapshot, config: Config, baseline: Snapshot | None = None) -> Report:
    """Offline analysis of snapshot files: the index advisor can only estimate here."""
    return _report(Model(snapshot, baseline, host=config.host), config)


def _report(model: Model, config: Config) -> Report:
    recommendations, notes = advise(model, config.rules)
    failures = model.workload.failures
    if failures:
        notes.append(f"{sum(failures.values())} statement(s) could not be parsed and were "
                     "skipped (" + ", ".join(f"{n} {why}" for why, n in failures.items()) + ")")
    questions, failed = ask(model, config.rules)
    return build(model, recommendations, notes + failed, questions)
