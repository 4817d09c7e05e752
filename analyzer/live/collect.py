"""Run every enabled collector over one safe session and assemble a Snapshot.

A failing collector is recorded with its reason and the rest goes on; only a lost
connection stops the cycle, because nothing after it could succeed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

import psycopg
from psycopg import errors as pg_errors

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


def failure_reason(exc: BaseException, statement_timeout_ms: int) -> str:
    """A one-line reason a collector did not run, naming what to do where we know it."""
    if isinstance(exc, Skip):
        return str(exc)
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return f"insufficient privilege: {first_line(str(exc))} (grant pg_monitor to the role)"
    if isinstance(exc, pg_errors.LockNotAvailable):
        return "lock_timeout: a catalog lock was held by another session"
    if isinstance(exc, pg_errors.QueryCanceled):
        return f"statement_timeout: no result within {statement_timeout_ms} ms"
    if isinstance(exc, TimeoutError):
        return str(exc)
    if isinstance(exc, psycopg.Error):
        return first_line(str(exc))
    return f"{type(exc).__name__}: {exc}"


def run_collector(collector: Collector, ctx: ServerContext, fetch: Fetch) -> list[Any]:
    """Drive one collector's generator, feeding each query's rows back to it."""
    gen = collector.run(ctx)
    try:
        query = next(gen)
        while True:
            query = gen.send(fetch(query))
    except StopIteration as done:
        return list(done.value)


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
            reason = failure_reason(exc, session.limits.statement_timeout_ms)
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
