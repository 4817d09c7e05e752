"""Rules over the current window, in a worker thread: model, report, workload metrics.

The same path as `pgsage analyze` (analyzer.pipeline), with the window's two snapshots and
the target's query text cache. It runs off the event loop so a slow rule never delays a
collection, and one pass at a time per target; requests made while a pass runs coalesce
into the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pgsage.analyzer.engine import pipeline
from pgsage.analyzer.engine.config import Config
from pgsage.analyzer.model.core import Derived, Model
from pgsage.analyzer.model.findings import Recommendation
from pgsage.analyzer.model.index_plan import IndexPlan
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.output.report import Report
from pgsage.analyzer.sidecar.metrics import Published, publish
from pgsage.analyzer.sidecar.samples import Memberships, failed_queryids, workload_rows

T = TypeVar("T")

@dataclass
class ModelCache:
    """One target's costliest model values (pandas deltas, parsing every statement, the
    estimated index plan), with the inputs they were computed from (`_inputs`): reused while
    those are the same objects, i.e. until the statements, tables, columns, indexes,
    constraints or settings collectors run again (the window's times come from the
    statements entries)."""

    inputs: tuple[Any, ...] = ()
    derived: Derived | None = None
    index_plan: IndexPlan | None = None


def _inputs(current: Snapshot, baseline: Snapshot | None, texts: dict[int, str]) -> tuple[
        Any, ...]:
    names = ("statements", "tables", "columns", "indexes", "constraints", "settings")
    return (*(current.data.get(n) for n in names),
            baseline.data.get("statements") if baseline is not None else None, texts)


@dataclass(frozen=True)
class Analysis:
    workload: Published
    report_json: bytes | None
    """A new report when the rules ran, else None (the last one stands)."""
    recommendations: list[Recommendation] | None
    seconds: float
    rules_seconds: float | None
    """How long the rules took, when they ran."""
    finished_at: float
    failed_queryids: list[int]


def report_document(report: Report, name: str) -> dict[str, Any]:
    """The report contract, with the target's configured name added to `target`."""
    doc = report.to_json()
    doc["target"] = {"name": name, **doc["target"]}
    return doc


def analyze(name: str, current: Snapshot, baseline: Snapshot | None, texts: dict[int, str],
            config: Config, memberships: Memberships, run_rules: bool = True,
            cache: ModelCache | None = None,
            previous: list[Recommendation] | None = None) -> Analysis:
    """The workload metrics, and the rules when `run_rules` (else `previous` findings stand)."""
    started = time.perf_counter()
    report: Report | None = None
    recommendations = previous
    rules_seconds: float | None = None
    failed: list[int] = []
    if run_rules:
        inputs = _inputs(current, baseline, texts)
        reuse = cache is not None and len(cache.inputs) == len(inputs) and all(
            a is b for a, b in zip(cache.inputs, inputs, strict=True))
        model = Model(current, baseline, query_texts=texts, host=config.host,
                      derived=cache.derived if cache is not None and reuse else None,
                      rates_need_baseline=True)
        if cache is not None and reuse and cache.index_plan is not None:
            model.index_plan = cache.index_plan
        else:
            pipeline.estimate_indexes(model)
        report = pipeline.report(model, config)
        recommendations = report.recommendations
        rules_seconds = time.perf_counter() - started
        failed = failed_queryids(model)
        if cache is not None:
            cache.inputs = inputs
            cache.derived = model.derive()
            cache.index_plan = model.index_plan
    rows = workload_rows(name, current, baseline, recommendations, memberships)
    body = (json.dumps(report_document(report, name), default=str).encode()
            if report is not None else None)
    return Analysis(publish(rows), body, recommendations, time.perf_counter() - started,
                    rules_seconds, time.time(), failed)


def in_daemon_thread(fn: Callable[[], T]) -> asyncio.Future[T]:
    """Run `fn` in a daemon thread: unlike the default executor's, exiting never waits for it
    (a rules pass over a big database can take minutes; SIGTERM must not)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = fn()
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(settle, None, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name="pgsage-analysis", daemon=True).start()
    return future
