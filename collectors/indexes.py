"""Indexes: pg_stat_user_indexes + pg_index (columns, expressions, predicate, constraints)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class IndexStats:
    indexrelid: int
    relid: int
    schema: str
    table: str
    name: str
    method: str
    definition: str
    columns: tuple[str | None, ...]
    """Key then INCLUDE columns by name; None where the key is an expression."""
    key_count: int
    opclasses: tuple[str, ...]
    options: tuple[int, ...]
    """indoption per key column: bit 1 DESC, bit 2 NULLS FIRST."""
    expressions: str | None
    predicate: str | None
    is_unique: bool
    is_primary: bool
    is_exclusion: bool
    is_valid: bool
    is_ready: bool
    is_replica_identity: bool
    constraint_name: str | None
    constraint_type: str | None
    """p, u or x when the index backs a constraint of its table."""
    referenced_by_fk: bool
    bytes: int | None
    idx_scan: int | None
    idx_tup_read: int | None
    idx_tup_fetch: int | None
    last_idx_scan: float | None = None


@register
class IndexesCollector(SqlCollector):
    name: ClassVar[str] = "indexes"
    record = IndexStats
    description: ClassVar[str] = "pg_stat_user_indexes + pg_index: definition, flags, size, scans"
