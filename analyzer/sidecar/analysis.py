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
from dataclasses import dataclass, field
from typing import Any, TypeVar

from analyzer import pipeline
from analyzer.advise import advise
from analyzer.config import Config
from analyzer.findings import Recommendation
from analyzer.model import Model
from analyzer.report import Report, build
from analyzer.sidecar.metrics import Published, publish
from analyzer.sidecar.samples import Memberships, failed_queryids, workload_rows
from analyzer.snapshot import Snapshot

T = TypeVar("T")

REUSABLE = ("statements", "workload", "catalog", "index_plan")
"""Model values that cost the most (pandas deltas, parsing every statement, the estimated
index plan) and depend only on the inputs in `_inputs`: reused while those are the same
objects, i.e. until the statements, tables, columns, indexes, constraints or settings
collectors run again (the window's times come from the statements entries)."""


@dataclass
class ModelCache:
    """One target's reusable model values, with the inputs they were computed from."""

    inputs: tuple[Any, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)


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


def _model(current: Snapshot, baseline: Snapshot | None, texts: dict[int, str],
           config: Config) -> Model:
    model = Model(current, baseline, query_texts=texts)
    host = getattr(config, "host", None)  # the host spec ([host]) where this pgsage has it
    if host is not None and hasattr(model, "host"):
        model.host = host
    return model


def _report(model: Model, config: Config) -> Report:
    """The pipeline's report for a model (rules, questions where the pipeline asks them)."""
    report_for = getattr(pipeline, "_report", None)
    if report_for is not None:
        report: Report = report_for(model, config)
        return report
    recommendations, notes = advise(model, config.rules)
    return build(model, recommendations, notes)


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
        model = _model(current, baseline, texts, config)
        inputs = _inputs(current, baseline, texts)
        if cache is not None and len(cache.inputs) == len(inputs) and all(
                a is b for a, b in zip(cache.inputs, inputs, strict=True)):
            # functools.cached_property keeps its values in the instance __dict__.
            model.__dict__.update(cache.values)
        report = _report(model, config)
        recommendations = report.recommendations
        rules_seconds = time.perf_counter() - started
        failed = failed_queryids(model)
        if cache is not None:
            cache.inputs = inputs
            cache.values = {k: model.__dict__[k] for k in REUSABLE if k in model.__dict__}
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
