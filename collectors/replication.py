"""Replication: connected standbys, replication slots, prepared transactions.

All three hold back the primary: a lagging standby or an inactive slot retains WAL (disk
fills), and a slot's xmin or a forgotten prepared transaction holds back vacuum and brings
transaction ID wraparound closer. Lags are seconds or bytes of WAL.
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


@dataclass(frozen=True, slots=True)
class ReplicationSlot:
    slot_name: str
    plugin: str | None
    slot_type: str
    """physical or logical."""
    database: str | None
    temporary: bool
    active: bool
    active_pid: int | None
    wal_status: str | None
    """reserved, extended, unreserved or lost (max_slot_wal_keep_size exceeded)."""
    safe_wal_size: int | None
    retained_bytes: int | None
    """WAL kept for the slot: current position minus restart_lsn; None on a standby."""
    confirmed_flush_lag_bytes: int | None
    """Logical slots: WAL not yet confirmed by the consumer; None on a standby."""
    xmin_age: int | None
    catalog_xmin_age: int | None
    two_phase: bool | None = None
    conflicting: bool | None = None
    """16+: a logical slot invalidated by a conflict with recovery."""
    invalidation_reason: str | None = None
    inactive_since: float | None = None
    failover: bool | None = None
    synced: bool | None = None


@dataclass(frozen=True, slots=True)
class PreparedXact:
    gid: str
    owner: str | None
    database: str | None
    prepared_age: float
    """Seconds since PREPARE TRANSACTION."""
    xid_age: int
    """age(transaction): how far it holds back the xmin horizon."""


@register
class ReplicationCollector(SqlCollector):
    name: ClassVar[str] = "replication"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = False
    record = Replica
    description: ClassVar[str] = "pg_stat_replication: connected standbys and their lag"


@register
class ReplicationSlotsCollector(SqlCollector):
    name: ClassVar[str] = "replication_slots"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = False
    record = ReplicationSlot
    description: ClassVar[str] = "pg_replication_slots: retained WAL and held-back xmin"


@register
class PreparedXactsCollector(SqlCollector):
    name: ClassVar[str] = "prepared_xacts"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = False
    record = PreparedXact
    description: ClassVar[str] = "pg_prepared_xacts: two-phase transactions and their age"
