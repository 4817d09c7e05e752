"""DDL for partitioning an existing table: the new parent, its keys and indexes, partitions.

Every identifier goes through `analyzer.sqlgen.ident` and every bound through
`analyzer.sqlgen.literal`. A unique key of a partitioned table must contain the partition
key, so the primary key and unique indexes are recreated with it appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import columns_of

INTERVALS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 30.44, "year": 365.25}
"""Partition intervals pgsage chooses from, with their length in days."""


def period_start(day: date, interval: str) -> date:
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())  # date_trunc('week'): Monday
    if interval == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_period(start: date, interval: str) -> date:
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    if interval == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def bounds(taken_at: float, interval: str, count: int) -> list[tuple[date, date]]:
    """`count` consecutive periods from the one holding `taken_at` (UTC)."""
    start = period_start(datetime.fromtimestamp(taken_at, UTC).date(), interval)
    out = []
    for _ in range(count):
        end = next_period(start, interval)
        out.append((start, end))
        start = end
    return out


def bound_literal(day: date, column_type: str) -> str:
    """A partition bound for a date or timestamp column; timestamptz bounds are UTC."""
    if column_type == "date":
        return literal(day.isoformat())
    if "with time zone" in column_type:
        return literal(f"{day.isoformat()} 00:00:00+00")
    return literal(f"{day.isoformat()} 00:00:00")


@dataclass(frozen=True)
class Parent:
    """The partitioned table to create next to an existing one, and how to fill it."""

    table: TableStats
    new_name: str
    key: str
    strategy: str
    """RANGE, LIST or HASH."""

    @property
    def old(self) -> str:
        return ident(self.table.schema, self.table.name)

    @property
    def new(self) -> str:
        return ident(self.table.schema, self.new_name)


def parent_ddl(model: Model, parent: Parent) -> list[str]:
    """CREATE TABLE ... (LIKE old ...) PARTITION BY ..., then its keys and plain indexes."""
    cols = columns_of(model).get(parent.table.relid, {})
    identity = any(c.identity for c in cols.values())
    including = ["DEFAULTS", "CONSTRAINTS", "GENERATED", "STATISTICS", "STORAGE", "COMMENTS"]
    if identity:
        including.insert(3, "IDENTITY")
    lines = [f"CREATE TABLE {parent.new} (LIKE {parent.old} "
             + " ".join(f"INCLUDING {i}" for i in including)
             + f") PARTITION BY {parent.strategy} ({ident(parent.key)});"]
    for ix in model.indexes_by_table.get(parent.table.relid, []):
        if not ix.is_valid:
            continue
        lines.extend(_index_ddl(parent, ix))
    if identity:
        for col in cols.values():
            if col.identity:
                lines.append(
                    f"SELECT setval(pg_get_serial_sequence({literal(parent.new)}, "
                    f"{literal(col.name)}), (SELECT coalesce(max({ident(col.name)}), 0) + 1 "
                    f"FROM {parent.old}), false);")
    return lines


def _index_ddl(parent: Parent, ix: IndexStats) -> list[str]:
    keys = list(ix.columns[: ix.key_count])
    plain = ix.expressions is None and ix.predicate is None and None not in keys
    if not plain:
        return [f"-- adapt to the new table: {ix.definition};"]
    names = [str(k) for k in keys]
    if ix.is_primary or ix.is_unique:
        if parent.key not in names:
            names.append(parent.key)  # a partitioned table's unique keys contain its key
        cols = ", ".join(ident(c) for c in names)
        if ix.is_primary:
            return [f"ALTER TABLE {parent.new} ADD PRIMARY KEY ({cols});"]
        return [f"ALTER TABLE {parent.new} ADD UNIQUE ({cols});"]
    cols = ", ".join(ident(c) for c in names)
    return [f"CREATE INDEX ON {parent.new} USING {ix.method} ({cols});"]


def legacy_unique_indexes(model: Model, parent: Parent) -> list[str]:
    """The old table's unique indexes with the partition key appended, built CONCURRENTLY,
    so that attaching it as a partition finds the indexes the parent's keys need."""
    out = []
    for ix in model.indexes_by_table.get(parent.table.relid, []):
        keys = list(ix.columns[: ix.key_count])
        if not ix.is_valid or not (ix.is_unique or ix.is_primary) or ix.expressions \
                or ix.predicate or None in keys or parent.key in keys:
            continue
        cols = ", ".join(ident(str(c)) for c in [*keys, parent.key])
        out.append(f"CREATE UNIQUE INDEX CONCURRENTLY ON {parent.old} ({cols});")
    return out


def partition_name(table: str, start: date) -> str:
    name = f"{table}_p{start.strftime('%Y%m%d')}"
    return name if len(name.encode()) <= 63 else f"{table[:50]}_p{start.strftime('%Y%m%d')}"
