"""Partitioned tables as they are: pruning, partition counts, the default partition, indexes.

PT003 statements that never filter on the partition key, PT004 too many or too few
partitions, PT005 a default partition that keeps growing, PT006 indexes missing on some
partitions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pgsage.analyzer.model.core import Model
from pgsage.collectors.tables import TableStats


def partitioned(model: Model) -> Iterator[TableStats]:
    """Top-level partitioned tables (a sub-partitioned partition is judged with its root)."""
    for t in model.tables.values():
        if t.relkind == "p" and not t.is_partition:
            yield t


def children(model: Model, parent: TableStats) -> list[TableStats]:
    return sorted((t for t in model.tables.values()
                   if t.parent_relid == parent.relid and t.is_partition),
                  key=lambda t: t.name)


def key_columns(table: TableStats) -> list[str]:
    """Columns of `RANGE (created_at)` / `HASH (tenant_id, region)`; expressions are left out."""
    if not table.partition_key:
        return []
    inner = table.partition_key[table.partition_key.find("(") + 1: table.partition_key.rfind(")")]
    out = []
    for part in inner.split(","):
        name = part.strip()
        if re.fullmatch(r'"[^"]+"', name):
            out.append(name[1:-1])
        elif re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
            out.append(name)
    return out
