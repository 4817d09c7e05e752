"""A very large table always read for one tenant: partition it by the tenant key."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import GB, format_bytes
from pgsage.collectors.columns import Column
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import columns_of, table_rows, user_tables
from pgsage.rules._support.columns import TENANT_PATTERN
from pgsage.rules.base import Rule, register
from pgsage.rules.partitioning._candidates import ColumnFilters, column_filters
from pgsage.rules.partitioning._ddl import Parent, parent_ddl


@register
class TenantPartitionCandidate(Rule["TenantPartitionCandidate.Options"]):
    """A very large table always read for one tenant: partition it by the tenant key.

    What it detects:
        Plain tables of at least `min_bytes` with a tenant-like column (the name matches
        `tenant_pattern`, e.g. tenant_id, account_id, org_id) that at least `min_share`
        of the calls on the table filter by equality, with at least `min_calls` calls.
        A column with at most `max_list_values` distinct values (pg_stats) gets list
        partitions from its most common values; others hash partitions, as many as make
        partitions of about `target_partition_bytes` (a power of two, 4 to 64).

    Why it matters:
        Each tenant's reads touch one partition and its smaller indexes; a large tenant's
        vacuum no longer scans everyone's rows; and a tenant can be moved or removed by
        detaching its partition.

    Example:
        invoices: 300 GB, 97% of calls WHERE account_id = $1

    What to do:
        Create the partitioned table (the action), copy the rows in batches (or by
        logical replication into it), switch the names; unique keys gain the tenant key.
    """

    code: ClassVar[str] = "PT002"
    name: ClassVar[str] = "partitioning.tenant_candidate"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_bytes: int = field(default=50 * GB, metadata={
            "help": "table size from which a table is considered."})
        min_share: float = field(default=0.8, metadata={
            "help": "share of the table's calls filtering by the tenant column."})
        min_calls: int = field(default=100, metadata={
            "help": "calls on the table over the window."})
        tenant_pattern: str = field(default=TENANT_PATTERN, metadata={
            "help": "regular expression for tenant-like column names."})
        max_list_values: int = field(default=16, metadata={
            "help": "distinct values up to which list partitioning is proposed."})
        target_partition_bytes: int = field(default=10 * GB, metadata={
            "help": "the partition size hash partitioning aims at."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        pattern = re.compile(options.tenant_pattern, re.IGNORECASE)
        cols = columns_of(model)
        for table in user_tables(model, "r"):
            size = table.table_bytes or 0
            if size < options.min_bytes:
                continue
            per, _, every = column_filters(model, table)
            if every < options.min_calls:
                continue
            tenants = [(u.eq_calls, name) for name, u in per.items()
                       if pattern.match(name) and u.eq_calls / every >= options.min_share]
            if not tenants:
                continue
            calls, name = max(tenants)
            column = cols.get(table.relid, {}).get(name)
            if column is None:
                continue
            yield self._finding(model, table, column, calls, every, per[name], options)

    def _finding(self, model: Model, table: TableStats, column: Column, calls: int,
                 every: int, use: ColumnFilters, options: Options) -> Recommendation:
        rows = table_rows(table)
        nd = column.n_distinct
        distinct = (-nd * rows if nd is not None and nd < 0 else nd) or 0.0
        values = list(column.most_common_vals or ())
        size = table.table_bytes or 0
        lines: list[str]
        if 0 < distinct <= options.max_list_values and len(values) >= distinct:
            parent = Parent(table, f"{table.name}_partitioned"[:63], column.name, "LIST")
            lines = parent_ddl(model, parent)
            for i, value in enumerate(values):
                part = ident(table.schema, f"{table.name}_{i}"[:63])
                lines.append(f"CREATE TABLE {part} PARTITION OF {parent.new} FOR VALUES IN "
                             f"({literal(value)});")
            lines.append(f"CREATE TABLE {ident(table.schema, f'{table.name}_default'[:63])} "
                         f"PARTITION OF {parent.new} DEFAULT;")
            how = f"list partitions, one per value ({len(values)} values)"
        else:
            wanted = max(size / options.target_partition_bytes, 4)
            count = min(1 << (math.ceil(wanted) - 1).bit_length(), 64)
            parent = Parent(table, f"{table.name}_partitioned"[:63], column.name, "HASH")
            lines = parent_ddl(model, parent)
            for i in range(count):
                part = ident(table.schema, f"{table.name}_h{i}"[:63])
                lines.append(f"CREATE TABLE {part} PARTITION OF {parent.new} FOR VALUES WITH "
                             f"(MODULUS {count}, REMAINDER {i});")
            how = f"{count} hash partitions of about {format_bytes(size / count)}"
        return self.finding(
            title=f"Partition {table.name} ({format_bytes(size)}) by {column.name}: {how}",
            detail=(f"{calls / every:.0%} of the {every:,} calls on {table.name} over "
                    f"{model.window.describe()} filter it by {column.name} = ... "
                    f"({distinct:,.0f} distinct values per pg_stats). Partitioned by "
                    f"{column.name}, each of those calls reads one partition and its smaller "
                    "indexes, and vacuum works per partition. Create the new table (the "
                    "action), copy the rows in batches of one tenant range at a time (or "
                    "with logical replication), then swap the names in one transaction. "
                    "Unique keys gain the tenant column."),
            object=ObjectRef(table.schema, table.name, None, (column.name,)),
            action=Action(sql="\n".join(lines),
                          undo_sql=f"DROP TABLE IF EXISTS {parent.new};"),
            impact={"queryids": sorted(use.queryids)},
            evidence={"table_bytes": size, "rows": rows, "column": column.name,
                      "share_of_calls": round(calls / every, 4), "calls": every,
                      "n_distinct": distinct},
            benefit=float(size),
        )
