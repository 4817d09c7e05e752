"""A partitioned table with too many partitions, or with one partition holding most rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import GB, format_bytes
from pgsage.rules._support.catalog import bytes_with_partitions
from pgsage.rules.base import Rule, register
from pgsage.rules.partitioning._existing import children, partitioned


@register
class PartitionCount(Rule["PartitionCount.Options"]):
    """A partitioned table with too many partitions, or with one partition holding most rows.

    What it detects:
        Partitioned tables with more than `max_partitions` partitions; and partitioned
        tables of at least `min_bytes` where one partition holds at least `max_share` of
        the data (or there is only one), so partitioning divides nothing.

    Why it matters:
        Every partition adds planning work, a lock per statement that cannot prune, and
        relation cache memory in every backend: thousands of small partitions slow down
        every statement. One partition holding everything keeps the problems
        partitioning was meant to solve (vacuum of a huge table, retention by DELETE).

    Example:
        metrics: 4,380 partitions (one per hour for six months)
        events: 3 partitions, events_p2024 holds 97% of 200 GB

    What to do:
        Too many: a coarser interval (day instead of hour) for new partitions, and merge
        old ones (detach, copy into one, attach). One partition with most data: split it
        (detach, create the finer partitions, move its rows in batches).
    """

    code: ClassVar[str] = "PT004"
    name: ClassVar[str] = "partitioning.partition_count"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        max_partitions: int = field(default=1000, metadata={
            "help": "partitions above which a table has too many."})
        min_bytes: int = field(default=10 * GB, metadata={
            "help": "size from which an uneven table is reported."})
        max_share: float = field(default=0.8, metadata={
            "help": "share of the data in one partition from which it is uneven."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for parent in partitioned(model):
            parts = children(model, parent)
            if not parts:
                continue
            size = bytes_with_partitions(model, parent)
            if len(parts) > options.max_partitions:
                yield self.finding(
                    title=f"{parent.name} has {len(parts):,} partitions",
                    detail=(f"{parent.name} ({format_bytes(size)}, partitioned by "
                            f"{parent.partition_key}) has {len(parts):,} partitions, "
                            f"{format_bytes(size / len(parts))} each on average. Each one adds "
                            "planning work and, for statements that cannot prune, a lock and a "
                            "scan. Create new partitions at a coarser interval and merge old "
                            "ones."),
                    object=ObjectRef(parent.schema, parent.name),
                    evidence={"partitions": len(parts), "bytes": size,
                              "partition_key": parent.partition_key},
                    benefit=float(len(parts)),
                )
                continue
            if size < options.min_bytes:
                continue
            biggest = max(parts, key=lambda p: bytes_with_partitions(model, p))
            share = bytes_with_partitions(model, biggest) / size if size else 0.0
            if len(parts) > 1 and share < options.max_share:
                continue
            yield self.finding(
                title=f"{biggest.name} holds {share:.0%} of {parent.name} "
                      f"({format_bytes(size)})",
                detail=(f"{parent.name} is partitioned by {parent.partition_key} into "
                        f"{len(parts)} partition(s), but {biggest.name} holds {share:.0%} of "
                        f"its {format_bytes(size)}: partitioning divides almost nothing. "
                        f"Split {biggest.name} (detach it, create finer partitions, move its "
                        "rows in batches)."),
                object=ObjectRef(biggest.schema, biggest.name),
                evidence={"partitions": len(parts), "bytes": size,
                          "largest_partition": biggest.name, "largest_share": round(share, 4)},
                benefit=float(size),
            )
