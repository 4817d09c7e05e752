"""How far integer keys have come: the largest value planner statistics saw per key column.

For single-column primary, unique and foreign keys of type smallint, integer or bigint, the
largest value in pg_stats (histogram bounds and most common values) as of the last ANALYZE,
and whether a sequence or identity feeds the column (the sequences collector covers those).
pg_stats shows only columns the role may read, so with pg_monitor alone this may be empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class KeyRange:
    relid: int
    schema: str
    table: str
    column: str
    type: str
    """smallint, integer or bigint."""
    constraint_type: str
    """p, u or f: the strongest single-column key the column is part of."""
    max_value: int | None
    """Largest value the statistics saw; None when the column was never analyzed."""
    fed_by_sequence: bool
    """An identity column or a column owning a sequence (serial)."""


@register
class KeyRangesCollector(SqlCollector):
    name: ClassVar[str] = "key_ranges"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = KeyRange
    description: ClassVar[str] = "pg_stats: largest value seen in integer key columns"
