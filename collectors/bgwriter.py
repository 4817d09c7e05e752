"""Checkpoints and background writer, one record whatever the server version.

PostgreSQL 17 split pg_stat_checkpointer out of pg_stat_bgwriter and dropped the
buffers_backend counters (pg_stat_io has them); 18 added num_done, because num_timed and
num_requested count skipped checkpoints too. The fields keep their pre-17 names and each
version's SQL maps its columns onto them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class BgwriterStats:
    checkpoints_timed: int
    """Checkpoints due to checkpoint_timeout (17+: num_timed, skipped ones included)."""
    checkpoints_req: int
    """Requested checkpoints: max_wal_size reached, CHECKPOINT, ... (17+: num_requested)."""
    checkpoint_write_time: float
    """Milliseconds spent writing checkpoint buffers (17+: write_time)."""
    checkpoint_sync_time: float
    buffers_checkpoint: int
    """Buffers written by checkpoints (17+: buffers_written)."""
    buffers_clean: int
    maxwritten_clean: int
    buffers_alloc: int
    stats_reset: float | None
    """pg_stat_bgwriter's reset time (on 17+ the checkpointer has its own)."""
    buffers_backend: int | None = None
    """Buffers written by backends themselves; None on 17+ (see pg_stat_io)."""
    buffers_backend_fsync: int | None = None
    checkpoints_done: int | None = None
    """Checkpoints actually performed (18+)."""
    restartpoints_timed: int | None = None
    restartpoints_req: int | None = None
    restartpoints_done: int | None = None
    slru_written: int | None = None
    checkpointer_stats_reset: float | None = None


@register
class BgwriterCollector(SqlCollector):
    name: ClassVar[str] = "bgwriter"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = True
    record = BgwriterStats
    description: ClassVar[str] = "pg_stat_bgwriter (+ pg_stat_checkpointer on 17+)"
