"""Sequences: last value against the type's maximum, and the column that owns each one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Sequence:
    schema: str
    name: str
    data_type: str
    increment_by: int
    min_value: int
    max_value: int
    cycle: bool
    last_value: int | None
    """None when never used, or when the role may not read it (needs SELECT or USAGE)."""
    readable: bool
    owner_schema: str | None
    owner_table: str | None
    owner_column: str | None
    owner_column_type: str | None
    """The owning column's type: an int4 column fed by a bigint sequence still ends at 2^31-1."""


@register
class SequencesCollector(SqlCollector):
    name: ClassVar[str] = "sequences"
    cadence: ClassVar[str] = "tables"
    cumulative: ClassVar[bool] = True
    record = Sequence
    description: ClassVar[str] = "pg_sequences with owning column and its type"
