"""Constraints: primary keys, unique, foreign keys (columns, referenced table, actions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Constraint:
    oid: int
    name: str
    type: str
    """p primary key, u unique, f foreign key, c check, x exclusion."""
    relid: int
    schema: str
    table: str
    columns: tuple[str, ...]
    ref_relid: int | None
    ref_schema: str | None
    ref_table: str | None
    ref_columns: tuple[str, ...] | None
    on_update: str | None
    on_delete: str | None
    deferrable: bool
    validated: bool


@register
class ConstraintsCollector(SqlCollector):
    name: ClassVar[str] = "constraints"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = Constraint
    description: ClassVar[str] = "pg_constraint: keys and foreign keys with their columns"
