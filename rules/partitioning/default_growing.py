"""Rows keep landing in the default partition: partitions for their keys are missing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.rules._support.catalog import rows_with_partitions, table_rows
from pgsage.rules.base import Rule, register
from pgsage.rules.partitioning._existing import key_columns


@register
class DefaultPartitionGrowing(Rule["DefaultPartitionGrowing.Options"]):
    """Rows keep landing in the default partition: partitions for their keys are missing.

    What it detects:
        DEFAULT partitions that hold at least `min_rows` rows and received inserts over
        the window. Medium when the default holds at least `medium_share` of its parent's
        rows.

    Why it matters:
        Rows in the default partition are outside the scheme: no pruning to them, no
        retention by dropping a partition, and creating a partition for their range
        fails (or, on recent versions, has to scan the default under a lock) until they
        are moved out. It usually means future partitions are not being created.

    Example:
        events_default: 2.1M rows, 40,000 inserted since the last snapshot

    What to do:
        Find the key ranges the default holds (the action), create the missing
        partitions: detach the default, create them, move the rows from the old default
        in batches, attach it back. Then schedule partition creation ahead of time
        (pg_partman's run_maintenance, or a job).
    """

    code: ClassVar[str] = "PT005"
    name: ClassVar[str] = "partitioning.default_growing"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=10_000, metadata={
            "help": "rows in the default partition from which it is reported."})
        medium_share: float = field(default=0.2, metadata={
            "help": "share of the parent's rows for medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for part in model.tables.values():
            if not part.is_partition or (part.partition_bound or "").upper() != "DEFAULT":
                continue
            rows = table_rows(part)
            inserted = model.table_counter(part.relid, "n_tup_ins") or 0
            if rows < options.min_rows or inserted <= 0:
                continue
            parent = model.tables.get(part.parent_relid or -1)
            total = rows_with_partitions(model, parent) if parent else rows
            share = rows / total if total else 1.0
            keys = key_columns(parent) if parent else []
            probe = None
            if keys:
                k = ident(keys[0])
                probe = (f"SELECT min({k}), max({k}), count(*) FROM "
                         f"{ident(part.schema, part.name)};")
            yield self.finding(
                severity=Severity.MEDIUM if share >= options.medium_share else self.severity,
                title=f"Default partition {part.name} holds {rows:,.0f} rows "
                      f"({share:.0%} of {parent.name if parent else 'its parent'}) and grows",
                detail=(f"{part.name}, the DEFAULT partition of "
                        f"{parent.name if parent else '?'}, holds {rows:,.0f} rows and "
                        f"received {inserted:,} inserts over the window: partitions for "
                        "their keys are missing. Find the ranges (the action), create the "
                        "partitions (detach the default, create them, move its rows in "
                        "batches, attach it back) and create future partitions ahead of "
                        "time."),
                object=ObjectRef(part.schema, part.name, None, tuple(keys) or None),
                action=Action(sql=probe) if probe else None,
                evidence={"rows": rows, "inserted": inserted, "share_of_parent": round(share, 4),
                          "partition_key": parent.partition_key if parent else None},
                benefit=rows,
            )
