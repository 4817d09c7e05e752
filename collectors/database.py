"""The current database's pg_stat_database row: transactions, blocks, tuples, temp files,
deadlocks, sessions (`databases` has every database's wraparound ages)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import (
    CollectorRun,
    ServerContext,
    SqlCollector,
    query,
    records,
    register,
)


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
    created_at: float | None = None
    """When the database was created (its PG_VERSION file's time); None where pgsage may not
    read server files (pg_stat_file needs pg_read_server_files) or the database lives in
    another tablespace."""


@register
class DatabaseCollector(SqlCollector):
    name: ClassVar[str] = "database"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = True
    record = DatabaseStats
    description: ClassVar[str] = "pg_stat_database for the current database"

    def run(self, ctx: ServerContext) -> CollectorRun:
        rows = yield query(self.name, ctx.server_version_num)
        found = records(DatabaseStats, rows)  # files_readable is not a field: left out
        if not found or not rows[0].get("files_readable"):
            return found
        created = yield query("database_created", ctx.server_version_num)
        at = created[0]["created_at"] if created else None
        return [dataclasses.replace(found[0], created_at=at), *found[1:]]
