"""A large table read by time ranges and trimmed by time: partition it by range."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import GB, format_bytes, format_duration
from pgsage.collectors.columns import Column
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import columns_of, table_rows, user_tables
from pgsage.rules._support.columns import TIME_TYPES
from pgsage.rules.base import Rule, register
from pgsage.rules.partitioning._candidates import ColumnFilters, column_filters
from pgsage.rules.partitioning._ddl import (
    INTERVALS,
    Parent,
    bound_literal,
    bounds,
    legacy_unique_indexes,
    parent_ddl,
    partition_name,
)

DAY = 86_400.0


@dataclass(frozen=True)
class Growth:
    """How fast a table fills, over a window pgsage knows; zeros where it does not."""

    inserted_per_day: float
    """Bytes of new rows a day: what a partition of one period holds."""
    net_per_day: float
    """Bytes a day the table grows by: new rows minus deleted ones (retention)."""
    how: str
    """How it was measured, or `unknown`."""
    window_seconds: float = 0.0

    def projected(self, size: float, days: float) -> float:
        """The table's size `days` from now at the measured net growth."""
        return size + max(self.net_per_day, 0.0) * days


UNKNOWN = Growth(0.0, 0.0, "unknown")


def measured_growth(model: Model, table: TableStats) -> Growth:
    """Growth between the snapshots (size), else from the rows inserted and deleted over
    the table counters' window x the average row size; unknown without a known window."""
    if model.baseline is not None:
        span = model.snapshot.taken_at - model.baseline.taken_at
        before = {t.relid: t for t in model.baseline.rows("tables", TableStats)}.get(table.relid)
        if span >= 3600 and before is not None and before.table_bytes and table.table_bytes:
            delta = table.table_bytes - before.table_bytes
            if delta >= 0:
                per_day = delta / (span / DAY)
                return Growth(per_day, per_day, "size between the snapshots", span)
    inserted = model.table_counter(table.relid, "n_tup_ins") or 0
    deleted = model.table_counter(table.relid, "n_tup_del") or 0
    rows = table_rows(table)
    window = model.counter_window
    if inserted <= 0 or rows <= 0 or window.seconds <= 0 or not table.table_bytes:
        return UNKNOWN
    per_row = table.table_bytes / rows
    days = window.seconds / DAY
    return Growth(inserted * per_row / days, (inserted - deleted) * per_row / days,
                  "rows inserted and deleted x average row size", window.seconds)


def choose_interval(per_day: float, target_bytes: float) -> str:
    """The interval whose partitions come closest (in ratio) to `target_bytes`."""
    if per_day <= 0:
        return "month"
    return min(INTERVALS, key=lambda k: abs(math.log(max(per_day * INTERVALS[k], 1.0)
                                                      / target_bytes)))


def _primary_key_without(model: Model, table: TableStats, key: str) -> list[str]:
    """The old table's primary key constraint when it lacks the partition key: a partition
    cannot keep it next to the parent's (which must include the key)."""
    return [ix.constraint_name for ix in model.indexes_by_table.get(table.relid, [])
            if ix.is_primary and ix.constraint_name and key not in ix.columns]


def _partman(model: Model) -> tuple[str, int] | None:
    ext = model.extensions.get("pg_partman")
    if ext is None or ext.installed_version is None:
        return None
    major = int(ext.installed_version.split(".")[0]) if ext.installed_version[0].isdigit() else 5
    return ext.schema or "partman", major


@register
class RangePartitionCandidate(Rule["RangePartitionCandidate.Options"]):
    """A large table read by time ranges and trimmed by time: partition it by range.

    What it detects:
        Plain tables of at least `min_bytes`, or projected to reach it within
        `horizon_days` at the growth measured over a known window of at least
        `min_growth_window_seconds` (rows inserted minus rows deleted, or the size
        between two snapshots; no projection where the window is unknown), with a date
        or timestamp column that the workload uses in one of these ways: DELETEs that
        remove old rows by it (`WHERE created_at < now() - $1`, retention), or range
        conditions in at least `min_range_share` of the SELECT calls on the table.
        Physical order following the column (pg_stats correlation of at least
        `min_correlation`) and few updates mark append-mostly data and are named as
        further evidence. The interval is chosen
        from the growth rate (between snapshots, or from rows inserted) so that a
        partition holds about `target_partition_bytes`. Medium when retention deletes
        were seen, low otherwise.

    Why it matters:
        Retention by DELETE rewrites nothing but leaves dead rows for vacuum, bloats the
        table and its indexes and writes WAL for every row; with partitions, a period is
        dropped (or detached) at once. Range reads prune to the partitions of the range
        instead of walking one huge index, and vacuum and freezing work on recent
        partitions only. Without such access, partitioning a large table only adds
        planning cost, and pgsage says nothing.

    Example:
        events: 120 GB, DELETE FROM events WHERE created_at < now() - $1 every night,
        SELECT ... WHERE created_at >= $1 AND created_at < $2 on most reads.

    What to do:
        Create the partitioned table (the action: the parent with the table's columns,
        defaults and constraints, its primary key and unique keys with the partition key
        added, its indexes, and the first partitions; with pg_partman installed,
        partman.create_parent instead), then follow the migration outline in the finding:
        bound the old table with a validated CHECK constraint, swap the names and attach
        the old table as the first partition without copying, so the switch takes
        seconds. Retention then detaches and drops partitions.
    References:
        https://www.postgresql.org/docs/current/ddl-partitioning.html
        https://github.com/pgpartman/pg_partman
    """

    code: ClassVar[str] = "PT001"
    name: ClassVar[str] = "partitioning.range_candidate"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_bytes: int = field(default=2 * GB, metadata={
            "help": "table size (now, or projected within horizon_days) from which a table "
                    "is considered."})
        horizon_days: float = field(default=365.0, metadata={
            "help": "the planning horizon: how far ahead the measured growth is projected."})
        min_growth_window_seconds: float = field(default=3600.0, metadata={
            "help": "the shortest window whose growth is projected."})
        min_range_share: float = field(default=0.5, metadata={
            "help": "share of SELECT calls with a range on the column."})
        min_correlation: float = field(default=0.9, metadata={
            "help": "|pg_stats correlation| counted as append-mostly."})
        target_partition_bytes: int = field(default=GB, metadata={
            "help": "the partition size the interval aims at."})
        premake: int = field(default=4, metadata={
            "help": "periods covered by new partitions, counting the current one (which stays in "
                    "the old table until the switch, so premake - 1 partitions are created)."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        for table in user_tables(model, "r"):
            size = table.table_bytes or 0
            if size < options.min_bytes and self._projected(model, table, options) is None:
                continue
            per, selects, _ = column_filters(model, table)
            best: tuple[int, int, str] | None = None
            for name, use in per.items():
                col = cols.get(table.relid, {}).get(name)
                if col is None or col.type not in TIME_TYPES:
                    continue
                ranged = selects > 0 and use.range_calls / selects >= options.min_range_share
                if not use.retention_queryids and not ranged:
                    continue
                score = (len(use.retention_queryids), use.range_calls, name)
                if best is None or score > best:
                    best = score
            if best is None:
                continue
            column = cols[table.relid][best[2]]
            yield self._finding(model, table, column, per[column.name], selects, options)

    @staticmethod
    def _projected(model: Model, table: TableStats, options: Options) -> float | None:
        """The size the table reaches within the horizon where the measured growth takes
        it to `min_bytes`; None otherwise (or where the growth is unknown)."""
        growth = measured_growth(model, table)
        if growth.window_seconds < options.min_growth_window_seconds:
            return None
        projected = growth.projected(table.table_bytes or 0, options.horizon_days)
        return projected if projected >= options.min_bytes else None

    def _finding(self, model: Model, table: TableStats, column: Column, use: ColumnFilters,
                 selects: int, options: Options) -> Recommendation:
        measured = measured_growth(model, table)
        per_day, how = measured.inserted_per_day, measured.how
        projected = self._projected(model, table, options)
        interval = choose_interval(per_day, options.target_partition_bytes)
        parent = Parent(table, f"{table.name}_partitioned"[:63], column.name, "RANGE")
        periods = bounds(model.snapshot.taken_at, interval, max(options.premake, 1))
        cutoff = periods[1][0] if len(periods) > 1 else periods[0][1]
        lines = parent_ddl(model, parent)
        partman = _partman(model)
        if partman is not None:
            schema, major = partman
            extra = "" if major >= 5 else ", p_type := 'native'"
            lines.append(f"SELECT {ident(schema)}.create_parent(p_parent_table := "
                         f"{literal(f'{table.schema}.{parent.new_name}')}, p_control := "
                         f"{literal(column.name)}, p_interval := {literal('1 ' + interval)}"
                         f"{extra}, p_premake := {options.premake}, p_start_partition := "
                         f"{literal(cutoff.isoformat())});")
        else:
            for start, end in periods[1:] if len(periods) > 1 else periods:
                lines.append(
                    f"CREATE TABLE {ident(table.schema, partition_name(table.name, start))} "
                    f"PARTITION OF {parent.new} FOR VALUES FROM "
                    f"({bound_literal(start, column.type)}) TO "
                    f"({bound_literal(end, column.type)});")
        reasons = []
        if use.retention_queryids:
            reasons.append(f"{len(use.retention_queryids)} DELETE statement(s) remove old rows "
                           f"by {column.name} ({use.retention_calls:,} calls): with partitions "
                           "a whole period is detached and dropped at once, with no dead rows, "
                           "vacuum or per-row WAL")
        if selects and use.range_calls / selects >= options.min_range_share:
            reasons.append(f"{use.range_calls / selects:.0%} of the {selects:,} SELECT calls on "
                           f"{table.name} filter {column.name} by range: the planner reads "
                           "only the partitions of the range")
        correlation = abs(column.correlation or 0.0)
        upd = model.table_counter(table.relid, "n_tup_upd") or 0
        ins = model.table_counter(table.relid, "n_tup_ins") or 0
        append = correlation >= options.min_correlation and upd <= 0.1 * max(ins, 1)
        if append:
            reasons.append(f"rows arrive in {column.name} order (correlation {correlation:.2f}) "
                           f"and are rarely updated ({upd:,} updates for {ins:,} inserts): "
                           "old partitions stop changing, so vacuum and freezing work on the "
                           "recent ones only")
        growth = (f"It grows by about {format_bytes(per_day)} a day ({how}), so one partition "
                  f"per {interval} holds about {format_bytes(per_day * INTERVALS[interval])}."
                  if per_day > 0 else
                  f"Its growth rate is unknown (give a baseline snapshot); one partition per "
                  f"{interval} is a starting point.")
        horizon = f"{options.horizon_days:,.0f} days"
        if projected is not None and (table.table_bytes or 0) < options.min_bytes:
            growth += (f" Net of deletes it grows by {format_bytes(measured.net_per_day)} a day "
                       f"over {format_duration(measured.window_seconds)}: within the planning "
                       f"horizon of {horizon} it reaches about {format_bytes(projected)}, "
                       "and partitioning now, while it is small, is a switch of seconds.")
        elif measured.window_seconds < options.min_growth_window_seconds:
            growth += (f" No projection within the planning horizon ({horizon}): the growth "
                       "was not measured over a known window of "
                       f"{format_duration(options.min_growth_window_seconds)} or more.")
        old, new = parent.old, parent.new
        legacy = ident(table.schema, f"{table.name}_legacy"[:63])
        check = ident(f"{table.name}_{column.name}_cutoff"[:63])
        cut = bound_literal(cutoff, column.type)
        key = ident(column.name)
        bound_old = [f"ALTER TABLE {old} ADD CONSTRAINT {check} CHECK ({key} IS NOT NULL AND "
                     f"{key} < {cut}) NOT VALID;",
                     f"ALTER TABLE {old} VALIDATE CONSTRAINT {check};",
                     *legacy_unique_indexes(model, parent)]
        switch = ["BEGIN;",
                  f"ALTER TABLE {old} RENAME TO {ident(f'{table.name}_legacy'[:63])};",
                  f"ALTER TABLE {new} RENAME TO {ident(table.name)};",
                  *(f"ALTER TABLE {legacy} DROP CONSTRAINT {ident(pk)};"
                    for pk in _primary_key_without(model, table, column.name)),
                  f"ALTER TABLE {old} ATTACH PARTITION {legacy} FOR VALUES FROM (MINVALUE) "
                  f"TO ({cut});",
                  "COMMIT;"]
        outline = (
            "Migration outline (no copy, a switch of seconds):\n"
            f"  1. Run the action: {new} with its keys, indexes and partitions from "
            f"{cutoff.isoformat()} on.\n"
            "  2. Bound the old table below the first partition without blocking writes, "
            "and give it the unique indexes the new keys need (CONCURRENTLY):\n"
            + "".join(f"     {line}\n" for line in bound_old)
            + f"  3. Before {cutoff.isoformat()}, swap the names and attach the old table as "
            "the partition of everything older (the validated CHECK spares the scan; its "
            "primary key gives way to the parent's, which includes the partition key):\n"
            + "".join(f"     {line}\n" for line in switch)
            + "  4. Retention: ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY, then DROP "
            "TABLE; the legacy partition empties by the old DELETEs until it can be dropped.\n"
            "  5. Create future partitions ahead of time"
            + (" (pg_partman's run_maintenance)." if partman else
               " with a scheduled job (or install pg_partman).")
            + " Foreign keys that reference this table must reference the new primary key, "
            "which includes the partition key.")
        return self.finding(
            severity=Severity.MEDIUM if use.retention_queryids else self.severity,
            title=f"Partition {table.name} ({format_bytes(table.table_bytes)}"
                  + (f", {format_bytes(projected)} within {horizon}" if projected is not None
                     and (table.table_bytes or 0) < options.min_bytes else "")
                  + f") by range of {column.name}, one partition per {interval}",
            detail=(f"{table.name} is {format_bytes(table.table_bytes)} and "
                    + "; ".join(reasons) + f". {growth}\n{outline}"),
            object=ObjectRef(table.schema, table.name, None, (column.name,)),
            action=Action(sql="\n".join(lines),
                          undo_sql=f"DROP TABLE IF EXISTS {new};  -- before step 3 only"),
            impact={"queryids": sorted(use.queryids | use.retention_queryids)},
            evidence={"table_bytes": table.table_bytes, "rows": table_rows(table),
                      "column": column.name, "column_type": column.type,
                      "correlation": column.correlation, "retention_calls": use.retention_calls,
                      "range_calls": use.range_calls, "select_calls": selects,
                      "growth_bytes_per_day": round(per_day), "growth_measured_by": how,
                      "net_growth_bytes_per_day": round(measured.net_per_day),
                      "growth_window_seconds": round(measured.window_seconds, 1),
                      "projected_bytes": round(projected) if projected is not None else None,
                      "horizon_days": options.horizon_days,
                      "interval": interval, "updates": upd, "inserts": ins,
                      "pg_partman": partman is not None,
                      "migration_sql": bound_old + switch},
            benefit=float(table.table_bytes or 0),
        )
