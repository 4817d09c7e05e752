"""WAL archiving: pg_stat_archiver (counts, last success and last failure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class ArchiverStats:
    archived_count: int
    last_archived_wal: str | None
    last_archived_time: float | None
    failed_count: int
    last_failed_wal: str | None
    last_failed_time: float | None
    stats_reset: float | None


@register
class ArchiverCollector(SqlCollector):
    name: ClassVar[str] = "archiver"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = False
    record = ArchiverStats
    description: ClassVar[str] = "pg_stat_archiver: archived and failed WAL segments"
