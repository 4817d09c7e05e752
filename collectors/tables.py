"""Tables: pg_stat_user_tables joined to pg_class (sizes, reltuples, partitioning, TOAST)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class TableStats:
    relid: int
    schema: str
    name: str
    relkind: str
    persistence: str
    reltuples: float
    relpages: int
    table_bytes: int | None
    toast_bytes: int | None
    is_partition: bool
    parent_relid: int | None
    partition_strategy: str | None
    partition_key: str | None
    reloptions: tuple[str, ...] | None
    frozenxid_age: int | None
    minmxid_age: int | None
    seq_scan: int | None
    seq_tup_read: int | None
    idx_scan: int | None
    idx_tup_fetch: int | None
    n_tup_ins: int | None
    n_tup_upd: int | None
    n_tup_del: int | None
    n_tup_hot_upd: int | None
    n_live_tup: int | None
    n_dead_tup: int | None
    n_mod_since_analyze: int | None
    n_ins_since_vacuum: int | None
    last_vacuum: float | None
    last_autovacuum: float | None
    last_analyze: float | None
    last_autoanalyze: float | None
    vacuum_count: int | None
    autovacuum_count: int | None
    analyze_count: int | None
    autoanalyze_count: int | None
    last_seq_scan: float | None = None
    last_idx_scan: float | None = None
    n_tup_newpage_upd: int | None = None
    partition_bound: str | None = None
    """A partition's bound as pg_get_expr prints it: `FOR VALUES FROM (...) TO (...)`,
    `FOR VALUES IN (...)`, `FOR VALUES WITH (modulus 4, remainder 0)` or `DEFAULT`."""
    locked_by: int | None = None
    """The pid holding or awaiting an ACCESS EXCLUSIVE lock on the table (or its TOAST
    table) when it was read, 0 for a prepared transaction: its sizes and partition bound
    were left unread (None), as reading them would wait for the lock."""


@register
class TablesCollector(SqlCollector):
    name: ClassVar[str] = "tables"
    cadence: ClassVar[str] = "tables"
    cumulative: ClassVar[bool] = True
    record = TableStats
    description: ClassVar[str] = "pg_stat_user_tables + pg_class: sizes, activity, partitioning"
