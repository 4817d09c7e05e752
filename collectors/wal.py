"""WAL generation: pg_stat_wal counters and the current WAL position in bytes.

Two snapshots give the WAL rate (bytes per second, full-page images per record). On 18 the
write and sync timings moved to pg_stat_io; they are not read on any version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class WalStats:
    wal_records: int
    wal_fpi: int
    """Full-page images: a high share after checkpoints suggests spacing them out."""
    wal_bytes: int
    wal_buffers_full: int
    stats_reset: float | None
    in_recovery: bool
    current_lsn_bytes: int | None
    """pg_current_wal_lsn() as a byte position; None on a standby."""
    replay_lsn_bytes: int | None = None
    """pg_last_wal_replay_lsn() as a byte position on a standby; None on a primary."""


@register
class WalCollector(SqlCollector):
    name: ClassVar[str] = "wal"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = True
    record = WalStats
    description: ClassVar[str] = "pg_stat_wal counters and the current WAL position"
