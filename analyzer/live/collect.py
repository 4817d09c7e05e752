"""Run every enabled collector over one safe session and assemble a Snapshot.

A failing collector is recorded with its reason and the rest goes on; only a lost
connection stops the cycle, because nothing after it could succeed. The pieces both drivers
share live here: the bootstrap, `Steps` (driving a collector's generator) and `classify`
(why a collector did not run); the sidecar awaits the same steps on asyncpg.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

import psycopg

from pgsage.analyzer.errors import ServerError
from pgsage.analyzer.live.connection import Session, first_line
from pgsage.analyzer.model.snapshot import CollectorStatus, Snapshot, Target
from pgsage.collectors import REGISTRY, Collector, ServerContext, Skip
from pgsage.collectors.base import ANY_VERSION, Query, Row, query

log = logging.getLogger(__name__)

MIN_SERVER_VERSION = 140000

Fetch = Callable[[Query], list[Row]]
"""How a runner executes one query; the CLI's psycopg session or the sidecar's asyncpg."""


def bootstrap_query() -> Query:
    """The first query of every collection (CLI and sidecar): collectors/sql/bootstrap_post_0."""
    return query("bootstrap", ANY_VERSION)


def context_from_row(row: dict[str, Any], known_query_texts: Iterable[int] = ()
                     ) -> ServerContext:
    """What collectors may know, from the bootstrap row (shared with the sidecar)."""
    version = int(row["server_version_num"])
    if version < MIN_SERVER_VERSION:
        raise ServerError(
            f"PostgreSQL {row['server_version']} is not supported: pgsage needs 14 or newer"
        )
    extensions = {name: (str(v[0]), str(v[1])) for name, v in json.loads(row["extensions"]).items()}
    # NULL when the role may not read the setting (it needs pg_read_all_settings).
    preload = None if row["preload"] is None else tuple(
        p.strip() for p in str(row["preload"]).split(",") if p.strip())
    return ServerContext(
        server_version_num=version,
        extensions=extensions,
        preload_libraries=preload,
        known_query_texts=frozenset(known_query_texts),
    )


def server_context(session: Session, known_query_texts: Iterable[int] = ()) -> tuple[
        ServerContext, dict[str, Any]]:
    boot = bootstrap_query()
    row = session.fetch(boot.sql, boot.params)[0]
    return context_from_row(row, known_query_texts), row


PRIVILEGE = "42501"
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
MISSING = ("42883", "42P01", "3F000", "55000")
"""Undefined function, table or schema (an extension dropped), and an object not in the
prerequisite state (pg_stat_statements created but not preloaded): they repeat until fixed."""


def classify(exc: BaseException, statement_timeout_ms: int) -> tuple[str, str]:
    """(kind, one-line reason) a collector did not run, the same for both drivers.

    Server errors are told apart by SQLSTATE, which psycopg and asyncpg errors both carry,
    so the CLI and the sidecar say the same words for the same error. `kind` is a short
    class (the sidecar's metric label); the reason names what to do where we know it.
    """
    if isinstance(exc, Skip):
        return "skipped", str(exc)
    state = getattr(exc, "sqlstate", None)
    if state == PRIVILEGE:
        return ("insufficient_privilege", f"insufficient privilege: {first_line(str(exc))} "
                "(grant pg_monitor to the role)")
    if state == LOCK_NOT_AVAILABLE:
        return ("lock_timeout", f"lock_timeout: {first_line(str(exc))} (another session "
                "holds or awaits a lock on a relation this source reads)")
    if state == QUERY_CANCELED:
        return "statement_timeout", f"statement_timeout: no result within {statement_timeout_ms} ms"
    if isinstance(exc, TimeoutError):
        return "timeout", str(exc)
    if state in MISSING:
        return "missing_object", first_line(str(exc))
    if state is not None or isinstance(exc, psycopg.Error):
        return "error", first_line(str(exc))
    return "error", f"{type(exc).__name__}: {exc}"


class Steps:
    """One collector's run, stepped by its driver: iterate for the queries, `answer` each.

    The generator protocol (priming, sending rows, the records on StopIteration) is here
    once; a driver only fetches: `for q in steps: steps.answer(fetch(q))`, with or without
    `await`. `records` holds the collector's records once the iteration has ended.
    """

    def __init__(self, collector: Collector, ctx: ServerContext) -> None:
        self._run = collector.run(ctx)
        self._rows: list[Row] | None = None
        self.records: list[Any] = []

    def answer(self, rows: list[Row]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[Query]:
        try:
            step = next(self._run)
            while True:
                yield step
                rows, self._rows = self._rows, None
                if rows is None:
                    raise RuntimeError(f"{step.sql[:60]!r} was not answered")
                step = self._run.send(rows)
        except StopIteration as done:
            self.records = list(done.value)
        finally:
            self._run.close()


def run_collector(collector: Collector, ctx: ServerContext, fetch: Fetch) -> list[Any]:
    """One collector's records, each query answered by `fetch`."""
    steps = Steps(collector, ctx)
    for step in steps:
        steps.answer(fetch(step))
    return steps.records


def collect(
    session: Session,
    only: Collection[str] | None = None,
    known_query_texts: Iterable[int] = (),
    progress: Callable[[str], None] | None = None,
) -> Snapshot:
    """One snapshot of the target: every collector (or those in `only`) in registry order."""
    ctx, boot = server_context(session, known_query_texts)

    def fetch(query: Query) -> list[Row]:
        return session.fetch(query.sql, query.params)

    status: dict[str, CollectorStatus] = {}
    data: dict[str, list[Any]] = {}
    lost: str | None = None
    for name, collector in REGISTRY.items():
        if only is not None and name not in only:
            continue
        if lost is not None:
            status[name] = CollectorStatus(ok=False, reason=lost)
            continue
        if progress:
            progress(name)
        started = time.perf_counter()
        try:
            rows = run_collector(collector, ctx, fetch)
        except ServerError as exc:
            lost = str(exc)
            status[name] = CollectorStatus(ok=False, reason=lost)
            continue
        except (Skip, psycopg.Error, TimeoutError) as exc:
            reason = classify(exc, session.limits.statement_timeout_ms)[1]
            log.info("collector %s skipped: %s", name, reason)
            status[name] = CollectorStatus(ok=False, reason=reason,
                                           seconds=time.perf_counter() - started)
            continue
        status[name] = CollectorStatus(ok=True, rows=len(rows),
                                       seconds=time.perf_counter() - started)
        data[name] = rows
    params = session.conn.info
    return Snapshot(
        taken_at=time.time(),
        target=Target(
            database=str(boot["database"]),
            host=params.host or None,
            port=int(params.port) if params.port else None,
            server_version_num=ctx.server_version_num,
        ),
        status=status,
        data=data,
    )
