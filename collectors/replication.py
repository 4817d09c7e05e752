"""Replication: connected standbys (pg_stat_replication) and how far behind they are.

A lagging standby holds back the primary (with a slot, WAL is retained and the disk fills;
with hot_standby_feedback, its xmin holds back vacuum). Lags are seconds or bytes of WAL.
Slots and prepared transactions, which hold back the primary too, have their own modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Replica:
    pid: int
    usename: str | None
    application_name: str | None
    client_addr: str | None
    state: str | None
    """startup, catchup, streaming, backup or stopping."""
    sync_state: str | None
    """async, potential, sync or quorum."""
    sync_priority: int | None
    backend_start_age: float | None
    backend_xmin_age: int | None
    """Set when the standby has hot_standby_feedback on (and no slot)."""
    write_lag: float | None
    flush_lag: float | None
    replay_lag: float | None
    sent_lag_bytes: int | None
    write_lag_bytes: int | None
    flush_lag_bytes: int | None
    replay_lag_bytes: int | None
    reply_age: float | None
    """Seconds since the standby last answered."""


@register
class ReplicationCollector(SqlCollector):
    name: ClassVar[str] = "replication"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = False
    record = Replica
    description: ClassVar[str] = "pg_stat_replication: connected standbys and their lag"
