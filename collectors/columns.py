"""Columns of user tables: definition from pg_attribute, planner statistics from pg_stats.

pg_stats shows a row only where the role may SELECT the column, so a role with only
pg_monitor gets every column's definition but statistics only for tables it can read.
Partitioned and inheritance parents carry `inherited = true` rows (a plain inheritance
parent has both kinds); columns never analyzed have no statistics (all None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import CollectorRun, Row, ServerContext, query, records, register

MAX_MCV = 20
"""Most-common values (and frequencies) are read only for columns with at most this many
distinct values (where they can list every value), and at most this many are kept."""


@dataclass(frozen=True, slots=True)
class Column:
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
    generation_expression: str | None = None
    """pg_get_expr of a generated column's expression."""
    inherited: bool | None = None
    """True for statistics over a parent and all its children; None without statistics."""
    null_frac: float | None = None
    avg_width: int | None = None
    n_distinct: float | None = None
    """Positive: distinct values; negative: minus the fraction of rows that are distinct."""
    correlation: float | None = None
    most_common_vals: tuple[str, ...] | None = None
    """The most common values in their text form, only for columns with at most 20 distinct
    values (what the LIST partitioning advice needs); None elsewhere, since turning pg_stats'
    anyarray into text is the costly part of reading it."""
    most_common_freqs: tuple[float, ...] | None = None


BATCH = 2000
"""Tables per statement: reading pg_stats costs about as much per column as any statement
may take for a few thousand tables on a loaded server, so a big catalog is read in batches."""


@register
class ColumnsCollector:
    name: ClassVar[str] = "columns"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = Column
    description: ClassVar[str] = "pg_attribute + pg_stats: types, nullability, planner statistics"

    def run(self, ctx: ServerContext) -> CollectorRun:
        relids = [r["oid"] for r in (yield query("table_oids", ctx.server_version_num))]
        rows: list[Row] = []
        for start in range(0, len(relids), BATCH):
            rows.extend((yield query(self.name, ctx.server_version_num,
                                     {"relids": relids[start:start + BATCH]})))
        return records(Column, rows)
