"""pg_stat_statements_info: how often entries were evicted, and the last reset.

Evictions (`dealloc`) mean pg_stat_statements.max is too small for the workload: rates of
evicted statements are lost. Located like the counters (`statements.located`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import (
    CollectorRun,
    ServerContext,
    query,
    records,
    register,
    version_num,
)
from pgsage.collectors.statements import located


@dataclass(frozen=True, slots=True)
class StatementsInfoStats:
    dealloc: int
    stats_reset: float | None


@register
class StatementsInfoCollector:
    name: ClassVar[str] = "statements_info"
    cadence: ClassVar[str] = "statements"
    cumulative: ClassVar[bool] = True
    record = StatementsInfoStats
    description: ClassVar[str] = "pg_stat_statements_info: evictions and last reset"

    def run(self, ctx: ServerContext) -> CollectorRun:
        schema, version = located(ctx)
        rows = yield query("pg_stat_statements_info", version_num(version),
                           identifiers={"schema": schema})
        return records(StatementsInfoStats, rows)
