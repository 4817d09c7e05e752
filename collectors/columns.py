"""Columns of user tables: definition from pg_attribute, planner statistics from pg_stats.

pg_stats shows a row only where the role may SELECT the column, so a role with only
pg_monitor gets every column's definition but statistics only for tables it can read.
Partitioned and inheritance parents carry `inherited = true` rows (a plain inheritance
parent has both kinds); columns never analyzed have no statistics (all None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from collectors.base import SqlCollector, register

MAX_MCV = 20
"""How many most-common values (and frequencies) are kept per column."""


@dataclass(frozen=True, slots=True)
class ColumnStats:
    relid: int
    schema: str
    table: str
    name: str
    attnum: int
    type: str
    """format_type() with the type modifier, e.g. `character varying(20)`, `integer`."""
    not_null: bool
    has_default: bool
    identity: str | None
    """a (ALWAYS) or d (BY DEFAULT) for identity columns."""
    generated: str | None
    """s for stored generated columns (v for virtual ones on 18+)."""
    inherited: bool | None = None
    """True for statistics over a parent and all its children; None without statistics."""
    null_frac: float | None = None
    avg_width: int | None = None
    n_distinct: float | None = None
    """Positive: distinct values; negative: minus the fraction of rows that are distinct."""
    correlation: float | None = None
    most_common_vals: tuple[str, ...] | None = None
    """Up to 20 most common values in their text form."""
    most_common_freqs: tuple[float, ...] | None = None


@register
class ColumnsCollector(SqlCollector):
    name: ClassVar[str] = "columns"
    record = ColumnStats
    description: ClassVar[str] = "pg_attribute + pg_stats: types, nullability, planner statistics"
