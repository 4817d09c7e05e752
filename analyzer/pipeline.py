"""The one analysis path: snapshot(s) -> model -> rules -> report.

`pgsage analyze`, `pgsage demo` and the sidecar all call these functions, so the demo shows
exactly what a user gets against their own database.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from analyzer.advise import advise, ask
from analyzer.collect import collect
from analyzer.config import Config
from analyzer.connection import Session
from analyzer.model import Model
from analyzer.plans import add_plans
from analyzer.report import Report, build
from analyzer.snapshot import Snapshot

Waiter = Callable[[float], None]
"""Waits the given seconds between two snapshots (the CLI shows progress while it does)."""


def take_snapshot(dsn: str | None, config: Config) -> Snapshot:
    with Session.open(dsn, config.limits) as session:
        return add_plans(session, collect(session))


def take_window(dsn: str | None, config: Config, seconds: float,
                wait: Waiter = time.sleep) -> tuple[Snapshot, Snapshot]:
    """Two snapshots `seconds` apart over one session: the baseline and the current one."""
    with Session.open(dsn, config.limits) as session:
        first = add_plans(session, collect(session))
        wait(seconds)
        known = {s.queryid for s in first.data.get("statements", [])}
        second = add_plans(session, collect(session, known_query_texts=known), first)
    return first, second


def analyze(snapshot: Snapshot, config: Config, baseline: Snapshot | None = None) -> Report:
    model = Model(snapshot, baseline, host=config.host)
    recommendations, notes = advise(model, config.rules)
    questions, failed = ask(model, config.rules)
    return build(model, recommendations, notes + failed, questions)
