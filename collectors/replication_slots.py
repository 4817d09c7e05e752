"""Replication slots: WAL retained and xmin held back, active or not.

An inactive slot retains WAL until the disk fills (or max_slot_wal_keep_size invalidates
it), and a slot's xmin or catalog_xmin holds back vacuum. Sizes are bytes of WAL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


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


@register
class ReplicationSlotsCollector(SqlCollector):
    name: ClassVar[str] = "replication_slots"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = False
    record = ReplicationSlot
    description: ClassVar[str] = "pg_replication_slots: retained WAL and held-back xmin"
