"""The current database's pg_stat_database row, and wraparound ages of every database.

`database` is this database's counters (transactions, blocks, tuples, temp files,
deadlocks, sessions). `databases` covers the whole cluster, because transaction ID
wraparound is a cluster-wide risk: the oldest datfrozenxid anywhere is what matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class DatabaseStats:
    datid: int
    datname: str
    numbackends: int
    xact_commit: int
    xact_rollback: int
    blks_read: int
    blks_hit: int
    tup_returned: int
    tup_fetched: int
    tup_inserted: int
    tup_updated: int
    tup_deleted: int
    conflicts: int
    temp_files: int
    temp_bytes: int
    deadlocks: int
    checksum_failures: int | None
    """None when data checksums are off."""
    checksum_last_failure: float | None
    blk_read_time: float
    """Milliseconds; stays 0 unless track_io_timing is on."""
    blk_write_time: float
    session_time: float
    active_time: float
    idle_in_transaction_time: float
    sessions: int
    sessions_abandoned: int
    sessions_fatal: int
    sessions_killed: int
    stats_reset: float | None
    parallel_workers_to_launch: int | None = None
    parallel_workers_launched: int | None = None


@dataclass(frozen=True, slots=True)
class DatabaseAge:
    datid: int
    datname: str
    frozenxid_age: int
    """age(datfrozenxid): transactions until wraparound protection is ~2^31 minus this."""
    minmxid_age: int
    allow_connections: bool
    is_template: bool
    connection_limit: int
    """-1 unlimited; -2 marks a database left invalid by an interrupted DROP DATABASE."""
    bytes: int | None
    """None where the role may not CONNECT (and is not in pg_read_all_stats)."""


@register
class DatabaseCollector(SqlCollector):
    name: ClassVar[str] = "database"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = True
    record = DatabaseStats
    description: ClassVar[str] = "pg_stat_database for the current database"


@register
class DatabasesCollector(SqlCollector):
    name: ClassVar[str] = "databases"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = False
    record = DatabaseAge
    description: ClassVar[str] = "every database: xid and multixact wraparound ages, size"
