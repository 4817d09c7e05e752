"""`pgsage serve`: the scheduler, the targets, the HTTP server and the signals, wired together.

One asyncio event loop runs APScheduler (3.x, AsyncIOScheduler): one job per target and
collector group, each at its own interval with jitter, `max_instances=1` (a run never
overlaps itself), `coalesce=True` (after a stall, one catch-up run instead of a burst) and a
`misfire_grace_time`. Each run has a deadline; a run that outlives its interval or deadline,
or that APScheduler skips because the previous one is still going, counts as an overrun.
After each run the rules run over the target's window in a worker thread.

SIGTERM (or SIGINT) stops scheduling, gives running jobs `serve.shutdown_grace` to finish,
closes every connection and exits 0. SIGHUP reloads the configuration from the same file,
environment and flags; a configuration that does not validate is rejected with one log
line and the running one is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import getpass
import itertools
import json
import logging
import logging.handlers
import os
import queue
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.process_collector import ProcessCollector

from pgsage.analyzer.engine.config import Config
from pgsage.analyzer.errors import ConfigError, PgsageError, ServerError
from pgsage.analyzer.live.collect import classify
from pgsage.analyzer.live.connection import parse_dsn
from pgsage.analyzer.model.snapshot import CollectorStatus
from pgsage.analyzer.sidecar.analysis import analyze, in_daemon_thread
from pgsage.analyzer.sidecar.metrics import PgsageCollector, Published, build_rows, publish
from pgsage.analyzer.sidecar.runner import (
    Boot,
    CollectorResult,
    bootstrap,
    run_collectors,
)
from pgsage.analyzer.sidecar.session import AsyncSession, Backoff, ConnectionEvents, TargetDown
from pgsage.analyzer.sidecar.settings import GroupConfig, TargetConfig, sidecar_of, with_sidecar
from pgsage.analyzer.sidecar.state import GroupStats, TargetState, health_rows
from pgsage.analyzer.sidecar.web import (
    JSON,
    METRICS,
    TEXT,
    App,
    Authenticator,
    ListenError,
    Response,
    WebServer,
)
from pgsage.analyzer.sidecar.web import ssl_context as make_ssl_context
from pgsage.collectors.statements import StatementStats

log = logging.getLogger("pgsage.serve")

Loader = Callable[[], Config]


@dataclass(frozen=True)
class Prepared:
    """A validated configuration with what can still fail built ahead (TLS context)."""

    config: Config
    app_tls: Any


class Sidecar:
    def __init__(self, config: Config, loader: Loader | None = None) -> None:
        self.config = config
        self.loader = loader
        self.targets: dict[str, TargetState] = {}
        self.groups: dict[str, GroupConfig] = {g.name: g for g in sidecar_of(config).groups}
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.jobs: dict[str, tuple[str, str]] = {}
        self._job_ids = itertools.count()
        self._running: dict[tuple[str, str], asyncio.Task[Any]] = {}
        self._analysis: dict[str, asyncio.Task[None]] = {}
        self._analysis_wanted: dict[str, asyncio.Event] = {}
        self.process_part = publish(build_rows())
        self.collector = PgsageCollector(self.parts)
        self.registry = CollectorRegistry()
        self.registry.register(self.collector)
        self.process_registry = CollectorRegistry()
        ProcessCollector(registry=self.process_registry)
        self.web: WebServer | None = None
        self.heartbeat = time.monotonic()
        self._heartbeat: asyncio.Task[None] | None = None
        self.stopping: asyncio.Event | None = None
        self.started_at = time.time()

    # --- what the HTTP thread reads ---------------------------------------------------------
    def parts(self) -> list[Published]:
        parts = [self.process_part]
        for state in list(self.targets.values()):
            parts.extend((state.health, state.workload))
        return parts

    def metrics(self, _: Mapping[str, list[str]]) -> Response:
        return 200, METRICS, [self.collector.render(), generate_latest(self.process_registry)]

    def healthz(self, _: Mapping[str, list[str]]) -> Response:
        stalled = time.monotonic() - self.heartbeat
        if stalled > max(30.0, 2 * sidecar_of(self.config).shortest_interval):
            return 503, TEXT, f"event loop stalled for {stalled:.0f} s\n".encode()
        return 200, TEXT, b"ok\n"

    def readyz(self, _: Mapping[str, list[str]]) -> Response:
        now = time.time()
        stale = sidecar_of(self.config).stale_after
        targets = {name: state.status(now, stale) for name, state in list(self.targets.items())}
        ready = bool(targets) and all(t["ready"] for t in targets.values())
        body = json.dumps({"ready": ready, "targets": targets}, indent=1).encode() + b"\n"
        return (200 if ready else 503), JSON, body

    def recommendations(self, query: Mapping[str, list[str]]) -> Response:
        wanted = query.get("target", [None])[0]
        targets = dict(self.targets)
        if wanted is not None:
            state = targets.get(wanted)
            if state is None:
                return 404, JSON, json.dumps({"error": f"no target named {wanted!r}",
                                              "targets": sorted(targets)}).encode()
            if state.report_json is None:
                warming = state.window.warming_up()
                reason = (state.status(time.time(), 1e18).get("reason") or
                          (f"warming up: the rules run once {' and '.join(warming)} have "
                           "been collected twice (rates need a measured window)"
                           if warming else None))
                return 503, JSON, json.dumps({"error": "no analysis yet", "target": wanted,
                                              "reason": reason}).encode()
            return 200, JSON, state.report_json
        parts = [f"{json.dumps(name)}:{(s.report_json or b'null').decode()}"
                 for name, s in targets.items()]
        return 200, JSON, ('{"targets":{' + ",".join(parts) + "}}").encode()

    def app(self, config: Config, tls: Any) -> App:
        auth = sidecar_of(config).serve.auth
        return App(routes={"/metrics": self.metrics, "/healthz": self.healthz,
                           "/readyz": self.readyz, "/recommendations": self.recommendations},
                   auth=Authenticator(auth.users if auth else None), tls=tls)

    # --- targets --------------------------------------------------------------------------
    def _add_target(self, target: TargetConfig) -> TargetState:
        state = TargetState.of(target, sidecar_of(self.config))
        cap = min(60.0, sidecar_of(self.config).shortest_interval)
        events = ConnectionEvents(on_up=lambda: self._on_up(state),
                                  on_down=lambda kind, why: self._on_down(state, kind, why))
        state.session = AsyncSession(target, self.config.limits,
                                     Backoff(base=min(1.0, cap), cap=cap), events)
        self.targets[target.name] = state
        state.health = publish(health_rows(state))
        state.session.start()
        wanted = asyncio.Event()
        self._analysis_wanted[target.name] = wanted
        self._analysis[target.name] = asyncio.create_task(self._analysis_loop(state, wanted),
                                                          name=f"analysis:{target.name}")
        return state

    async def _remove_target(self, name: str) -> None:
        state = self.targets.pop(name, None)
        task = self._analysis.pop(name, None)
        self._analysis_wanted.pop(name, None)
        if task is not None:
            task.cancel()
        if state is not None and state.session is not None:
            await state.session.close()

    def _on_up(self, state: TargetState) -> None:
        log.info("target %s is up", state.name, extra={"target": state.name})
        state.down_logged = None
        state.health = publish(health_rows(state))
        if self.targets.get(state.name) is state:
            self._run_soon(state.name)

    def _on_down(self, state: TargetState, kind: str, reason: str) -> None:
        if state.down_logged != reason:  # each attempt is counted; a new reason is logged
            log.warning("target %s is down: %s", state.name, reason,
                        extra={"target": state.name, "reason": reason})
            state.down_logged = reason
        state.health = publish(health_rows(state))

    def _run_soon(self, target: str) -> None:
        """Run every group of the target now (after a reconnect), except those running."""
        if not self.scheduler.running:
            return
        now = datetime.now(self.scheduler.timezone)
        for job_id, (t, group) in list(self.jobs.items()):
            if t == target and (t, group) not in self._running:
                with contextlib.suppress(Exception):
                    self.scheduler.modify_job(job_id, next_run_time=now)

    # --- scheduling -----------------------------------------------------------------------
    def _schedule(self) -> None:
        for job_id in list(self.jobs):
            with contextlib.suppress(Exception):
                self.scheduler.remove_job(job_id)
        self.jobs.clear()
        sidecar = sidecar_of(self.config)
        start = datetime.now(self.scheduler.timezone)
        order = {"schema": 0, "tables": 1, "statements": 2, "activity": 3}
        for target in self.targets:
            for group in sorted(sidecar.groups, key=lambda g: order.get(g.name, 9)):
                job_id = f"job{next(self._job_ids)}"
                self.jobs[job_id] = (target, group.name)
                self.scheduler.add_job(
                    self._job, IntervalTrigger(seconds=group.interval,
                                               jitter=group.interval * sidecar.jitter or None),
                    args=(target, group.name), id=job_id, name=f"{target}/{group.name}",
                    max_instances=1, coalesce=True,
                    misfire_grace_time=max(1, int(group.interval)),
                    next_run_time=start + timedelta(milliseconds=10 * order.get(group.name, 9)))

    def _scheduler_event(self, event: JobEvent) -> None:
        found = self.jobs.get(event.job_id)
        if found is None:
            return
        target, group = found
        state = self.targets.get(target)
        if state is None or group not in state.groups:
            return
        state.groups[group].overruns += 1
        why = ("the previous run is still going" if event.code == EVENT_JOB_MAX_INSTANCES
               else "the event loop was too busy to start it on time")
        log.warning("target %s: %s run skipped: %s", target, group, why,
                    extra={"target": target})
        state.health = publish(health_rows(state))

    async def _job(self, target: str, group_name: str) -> None:
        state = self.targets.get(target)
        group = self.groups.get(group_name)
        if state is None or group is None or state.session is None:
            return
        task = asyncio.current_task()
        if task is not None:
            self._running[(target, group_name)] = task
        try:
            await self._run_group(state, group)
        finally:
            self._running.pop((target, group_name), None)

    async def _run_group(self, state: TargetState, group: GroupConfig) -> None:
        session = state.session
        assert session is not None
        stats = state.groups.setdefault(group.name, GroupStats())
        stats.runs += 1
        started = time.perf_counter()
        results: dict[str, CollectorResult] = {}
        boot_box: list[Boot] = []
        failure: str | None = None
        overrun = False
        async with state.lock:
            try:
                await asyncio.wait_for(self._collect(state, group, results, boot_box),
                                       group.deadline)
            except TimeoutError as exc:
                if time.perf_counter() - started < group.deadline * 0.99:  # a client deadline
                    failure = str(exc)
                    self._fail_rest(group, results, failure, "timeout")
                else:
                    overrun = True
                    failure = f"deadline: the {group.name} run took over {group.deadline:.0f} s"
                    session.lost(failure, "timeout")
                    self._fail_rest(group, results, failure, "deadline")
            except TargetDown as exc:
                failure = str(exc)
                for name in group.collectors:
                    results.setdefault(name, CollectorResult(
                        CollectorStatus(ok=False, reason=f"not run: {failure}"),
                        kind="target_down", finished_at=time.time()))
            except ServerError as exc:  # lost while bootstrapping, or an unsupported server
                failure = str(exc)
                self._fail_rest(group, results, failure, "connection_lost")
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # the bootstrap
                kind, failure = classify(exc, self.config.limits.statement_timeout_ms)
                self._fail_rest(group, results, failure, kind)
            except Exception as exc:  # a bug must cost one run, never the job
                log.exception("target %s: %s run failed", state.name, group.name)
                failure = f"{type(exc).__name__}: {exc}"
                self._fail_rest(group, results, failure, "error")
        elapsed = time.perf_counter() - started
        stats.last_seconds = elapsed
        if elapsed > group.interval and not overrun:
            overrun = True
            log.warning("target %s: the %s run took %.1f s, longer than its %.0f s interval",
                        state.name, group.name, elapsed, group.interval,
                        extra={"target": state.name})
        if overrun:
            stats.overruns += 1
        self._record(state, group, results, boot_box[0] if boot_box else None, failure)

    @staticmethod
    def _fail_rest(group: GroupConfig, results: dict[str, CollectorResult], reason: str,
                   kind: str) -> None:
        for name in group.collectors:
            results.setdefault(name, CollectorResult(CollectorStatus(ok=False, reason=reason),
                                                     kind=kind, finished_at=time.time()))

    async def _collect(self, state: TargetState, group: GroupConfig,
                       results: dict[str, CollectorResult], boot_box: list[Boot]) -> None:
        session = state.session
        assert session is not None
        session.connection()  # TargetDown when there is none: nothing to try
        boot = await bootstrap(session, state.texts.keys())
        boot_box.append(boot)
        await run_collectors(session, group.collectors, boot, results)

    def _record(self, state: TargetState, group: GroupConfig,
                results: dict[str, CollectorResult], boot: Boot | None,
                failure: str | None) -> None:
        now = time.time()
        stats = state.groups[group.name]
        state.record(results, now)
        failed: list[str] = []
        for name, result in results.items():
            if result.status.ok:
                state.logged.pop(name, None)
                continue
            reason = result.status.reason or "failed"
            if failure is not None:
                continue  # one line for the run below, not one per collector
            if result.persistent and state.logged.get(name) == reason:
                continue  # already said once; the metric keeps saying it
            state.logged[name] = reason
            failed.append(f"{name}: {reason}")
        stats.last_ok = failure is None and not failed
        if failure is not None or any(not r.status.ok for r in results.values()):
            stats.failures += 1
        if failure is not None:
            log.warning("target %s: %s run failed: %s", state.name, group.name, failure,
                        extra={"target": state.name, "reason": failure})
        elif failed:
            log.warning("target %s: %s run: %s", state.name, group.name, "; ".join(failed),
                        extra={"target": state.name, "reason": "; ".join(failed)})
        if boot is not None:
            state.last_good_cycle = now
            self._update_texts(state, results)
            host = parse_dsn(state.config.dsn).get("host")
            for note in state.window.add(boot, results, _host_label(host), now):
                log.info("target %s: %s", state.name, note, extra={"target": state.name})
        state.health = publish(health_rows(state))
        wanted = self._analysis_wanted.get(state.name)
        if wanted is not None and boot is not None:
            wanted.set()

    @staticmethod
    def _update_texts(state: TargetState, results: Mapping[str, CollectorResult]) -> None:
        result = results.get("statements")
        if result is None or not result.status.ok or result.records is None:
            return
        live: dict[int, str] = {}
        for s in result.records:
            if isinstance(s, StatementStats):
                text = s.query if s.query is not None else state.texts.get(s.queryid)
                if text is not None:
                    live[s.queryid] = text
        state.texts = live

    async def _analysis_loop(self, state: TargetState, wanted: asyncio.Event) -> None:
        while True:
            await wanted.wait()
            await asyncio.sleep(0.5)  # jobs that finish together make one pass
            wanted.clear()
            current = state.window.current()
            if current is None:
                continue
            baseline = state.window.baseline()
            run_rules = (time.monotonic() >= state.rules_not_before
                         and not state.window.warming_up())
            config, texts, previous = self.config, state.texts, state.recommendations
            try:
                result = await in_daemon_thread(functools.partial(
                    analyze, state.name, current, baseline, texts, config, state.memberships,
                    run_rules, state.model_cache, previous))
            except Exception:  # a broken analysis must not stop the next ones
                log.exception("target %s: analysis failed", state.name)
                continue
            state.workload = result.workload
            if result.report_json is not None:
                state.report_json = result.report_json
                state.recommendations = result.recommendations
            if result.rules_seconds is not None:
                # Keep the rules' average CPU within schedule.rules_budget of one core: a pass
                # of D seconds is followed by at least D / budget - D seconds without one.
                budget = sidecar_of(self.config).rules_budget
                pause = result.rules_seconds / budget - result.rules_seconds
                state.rules_not_before = time.monotonic() + pause
                state.rules_seconds = result.rules_seconds
                if pause > sidecar_of(self.config).shortest_interval * 4:
                    log.info("target %s: the rules took %.1f s; next pass in %.0f s at the "
                             "latest (schedule.rules_budget = %g)", state.name,
                             result.rules_seconds, pause, budget, extra={"target": state.name})
            state.analysis_seconds = result.seconds
            state.analysis_at = result.finished_at
            state.parse_failed.update(result.failed_queryids)
            state.health = publish(health_rows(state))

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self.stopping = asyncio.Event()
        serve = sidecar_of(self.config).serve
        self.web = WebServer(serve.host, serve.port,
                             self.app(self.config, make_ssl_context(serve.tls))).start()
        log.info("listening on %s://%s:%d (%s)", "https" if serve.tls else "http",
                 serve.host, self.web.port, "basic auth" if serve.auth else "no auth")
        await self._first_attempts([self._add_target(t) for t in sidecar_of(self.config).targets])
        self.scheduler.add_listener(self._scheduler_event,
                                    EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        self._schedule()
        self.scheduler.start()
        self._heartbeat = asyncio.create_task(self._beat(), name="heartbeat")

    async def _first_attempts(self, states: list[TargetState]) -> None:
        """Let new targets try to connect before their first jobs (bounded wait)."""
        wait = self.config.limits.connect_timeout_s + 2
        await asyncio.gather(*(s.session.first_attempt(wait) for s in states
                               if s.session is not None))

    async def _beat(self) -> None:
        while True:
            self.heartbeat = time.monotonic()
            await asyncio.sleep(1.0)

    def request_stop(self) -> None:
        if self.stopping is not None:
            self.stopping.set()

    async def stop(self) -> None:
        grace = sidecar_of(self.config).serve.shutdown_grace
        with contextlib.suppress(Exception):
            self.scheduler.pause()
        running = list(self._running.values())
        if running:
            log.info("waiting up to %.0f s for %d running job(s)", grace, len(running))
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
        with contextlib.suppress(Exception):
            self.scheduler.shutdown(wait=False)
        for analysis in self._analysis.values():
            analysis.cancel()
        self._analysis.clear()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        await asyncio.gather(*(s.session.close() for s in self.targets.values()
                               if s.session is not None), return_exceptions=True)
        if self.web is not None:
            await asyncio.to_thread(self.web.stop)
        log.info("stopped")

    # --- reload ---------------------------------------------------------------------------
    def prepare(self) -> Prepared:
        """Load and validate the new configuration, building what could still fail."""
        if self.loader is None:
            raise ConfigError("no configuration source to reload from")
        config = self.loader()
        try:
            tls = make_ssl_context(sidecar_of(config).serve.tls)
        except ValueError as exc:
            raise ConfigError(f"invalid configuration:\n  serve.tls: {exc}") from None
        if not sidecar_of(config).targets:
            raise ConfigError("invalid configuration:\n  targets: no target to watch")
        return Prepared(config, tls)

    async def reload(self) -> bool:
        try:
            prepared = self.prepare()
        except PgsageError as exc:
            log.error("configuration reload rejected, keeping the running configuration: %s",
                      " | ".join(line.strip() for line in str(exc).splitlines()))
            return False
        old, new = self.config, prepared.config
        serve = sidecar_of(new).serve
        app = self.app(new, prepared.app_tls)
        if self.web is not None and (serve.host, serve.port) != (sidecar_of(old).serve.host,
                                                                 sidecar_of(old).serve.port):
            try:
                replacement = WebServer(serve.host, serve.port, app).start()
            except OSError as exc:
                log.error("configuration reload rejected, keeping the running configuration: "
                          "%s", exc)
                return False
            await asyncio.to_thread(self.web.stop)
            self.web = replacement
        elif self.web is not None:
            self.web.app = app
        self.config = new
        self.groups = {g.name: g for g in sidecar_of(new).groups}
        configure_logging(sidecar_of(new).log_level, sidecar_of(new).log_format)
        wanted = {t.name: t for t in sidecar_of(new).targets}
        for name, state in list(self.targets.items()):
            if wanted.get(name) != state.config or new.limits != old.limits:
                await self._remove_target(name)
        added: list[TargetState] = []
        for name, target in wanted.items():
            if name in self.targets:
                state = self.targets[name]
                state.window.length = sidecar_of(new).window_length
                state.window.step = sidecar_of(new).window_length / state.window.slots
                state.memberships.resize(sidecar_of(new).metrics)
                for group in sidecar_of(new).groups:
                    state.groups.setdefault(group.name, GroupStats())
            else:
                added.append(self._add_target(target))
        await self._first_attempts(added)
        self._schedule()
        log.info("configuration reloaded: %d target(s), groups %s", len(self.targets),
                 ", ".join(f"{g.name}={g.interval:g}s" for g in sidecar_of(new).groups))
        return True


def with_defaults(config: Config, json_logs: bool = False) -> Config:
    """No target configured: one from libpq's PG* variables; `--log-format json` wins."""
    sidecar = sidecar_of(config)
    if not sidecar.targets:
        env = os.environ
        where = f"{env.get('PGHOST') or 'localhost'}:{env.get('PGPORT') or 5432}"
        name = f"{where}/{env.get('PGDATABASE') or env.get('PGUSER') or getpass.getuser()}"
        sidecar = dataclasses.replace(sidecar, targets=(TargetConfig(name, ""),))
    if json_logs:
        sidecar = dataclasses.replace(sidecar, log_format="json")
    return with_sidecar(config, sidecar)


def _host_label(host: str | None) -> str | None:
    if not host or host.startswith("/"):
        return None
    return host.split(",")[0]


_listener: logging.handlers.QueueListener | None = None


class OnceFilter(logging.Filter):
    """Passes each distinct message once: rules run after every cycle, and a rule that
    breaks would otherwise log the same traceback every few seconds (the report's notes
    keep saying it)."""

    def __init__(self, limit: int = 1000) -> None:
        super().__init__()
        self.seen: set[tuple[str, str]] = set()
        self.limit = limit

    def filter(self, record: logging.LogRecord) -> bool:
        error = repr(record.exc_info[1]) if record.exc_info else ""
        key = (record.getMessage(), error)
        if key in self.seen:
            return False
        if len(self.seen) < self.limit:
            self.seen.add(key)
        return True


def configure_logging(level: str, fmt: str) -> None:
    """Plain or JSON lines on stderr, through a queue so a slow sink never stalls the loop."""
    global _listener
    from pgsage.analyzer.logs import configure

    configure(getattr(logging, level.upper()), fmt)
    root = logging.getLogger()
    handlers = list(root.handlers)
    if _listener is not None:
        _listener.stop()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
    root.handlers[:] = [logging.handlers.QueueHandler(records)]
    _listener.start()
    for noisy in ("apscheduler", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    rules_log = logging.getLogger("pgsage.analyzer.engine.advise")
    if not any(isinstance(f, OnceFilter) for f in rules_log.filters):
        rules_log.addFilter(OnceFilter())


def stop_logging() -> None:
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


async def serve(config: Config, loader: Loader | None = None) -> int:
    sidecar = Sidecar(config, loader)
    loop = asyncio.get_running_loop()
    try:
        await sidecar.start()
    except ListenError:
        raise  # nothing runs yet: the CLI prints it as its one error line
    except OSError as exc:
        log.error("%s", exc)
        await sidecar.stop()
        return 2
    assert sidecar.stopping is not None
    reloading: set[asyncio.Task[bool]] = set()

    def on_hup() -> None:
        task = asyncio.create_task(sidecar.reload())
        reloading.add(task)
        task.add_done_callback(reloading.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, sidecar.request_stop)
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    log.info("pgsage serve started: %d target(s)", len(sidecar.targets))
    await sidecar.stopping.wait()
    log.info("stopping")
    await sidecar.stop()
    return 0


def run(config: Config, loader: Loader | None = None) -> int:
    """The `pgsage serve` process: returns its exit code."""
    configure_logging(sidecar_of(config).log_level, sidecar_of(config).log_format)
    try:
        return asyncio.run(serve(config, loader))
    finally:
        stop_logging()
        sys.stderr.flush()
