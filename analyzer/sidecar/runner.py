"""Drive the same generator collectors as the CLI, over the sidecar's asyncpg session.

`analyzer.live.collect` runs every collector over a psycopg session; this module runs one group
of them over an `AsyncSession`, with the same bootstrap, the same per-collector isolation
(a failure is recorded with its reason and the rest goes on; only a lost connection stops
the run) and the same one-line reasons (`classify`, keyed on SQLSTATE, so both drivers say
the same words for the same server error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from pgsage.analyzer.errors import ServerError
from pgsage.analyzer.live.collect import Steps, bootstrap_query, classify, context_from_row
from pgsage.analyzer.model.snapshot import CollectorStatus
from pgsage.analyzer.sidecar.session import AsyncSession
from pgsage.collectors import REGISTRY, ServerContext, Skip

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class Boot:
    """What every run learns first: who the server is and since when it runs."""

    server_version_num: int
    server_version: str
    database: str
    port: int | None
    started_at: float
    context: ServerContext


@dataclass(frozen=True, slots=True)
class CollectorResult:
    status: CollectorStatus
    records: list[Any] | None = None
    kind: str | None = None
    """Short reason class for metric labels when the collector failed."""
    finished_at: float = 0.0

    @property
    def persistent(self) -> bool:
        """A reason that repeats until someone acts (skip, privilege): logged once."""
        return self.kind in ("skipped", "insufficient_privilege", "missing_object")


def boot_from_row(row: dict[str, Any], known_query_texts: Iterable[int]) -> Boot:
    ctx = context_from_row(row, known_query_texts)
    return Boot(ctx.server_version_num, str(row["server_version"]), str(row["database"]),
                int(row["port"]) if row["port"] is not None else None,
                float(row["started_at"]), ctx)


async def bootstrap(session: AsyncSession, known_query_texts: Iterable[int] = ()) -> Boot:
    rows = await session.fetch(bootstrap_query())
    return boot_from_row(rows[0], known_query_texts)


async def run_collectors(session: AsyncSession, names: Sequence[str], boot: Boot,
                         results: MutableMapping[str, CollectorResult]) -> None:
    """Run `names` in order, writing each result into `results` as soon as it is known.

    The caller owns `results`, so whatever finished before a run deadline is kept.
    """
    lost: str | None = None
    for name in names:
        collector = REGISTRY.get(name)
        if collector is None:
            continue
        if lost is not None:
            results[name] = CollectorResult(CollectorStatus(ok=False, reason=lost),
                                            kind="connection_lost", finished_at=time.time())
            continue
        started = time.perf_counter()
        try:
            steps = Steps(collector, boot.context)
            for query in steps:
                steps.answer(await session.fetch(query))
            records = steps.records
        except ServerError as exc:
            lost = str(exc)
            results[name] = CollectorResult(CollectorStatus(ok=False, reason=lost),
                                            kind="connection_lost", finished_at=time.time())
            continue
        except (Skip, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError) as exc:
            kind, reason = classify(exc, session.limits.statement_timeout_ms)
            results[name] = CollectorResult(
                CollectorStatus(ok=False, reason=reason, seconds=time.perf_counter() - started),
                kind=kind, finished_at=time.time())
            if kind == "timeout" and not await session.wait_connected(
                    float(session.limits.connect_timeout_s)):
                lost = f"not run: the connection was closed after a client deadline ({reason})"
            continue
        results[name] = CollectorResult(
            CollectorStatus(ok=True, rows=len(records), seconds=time.perf_counter() - started),
            records=records, finished_at=time.time())
