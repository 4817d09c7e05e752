"""An index most partitions of a table have is missing on some of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import attach_index, create_index, ident, index_name
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import table_rows
from pgsage.rules.base import Rule, register
from pgsage.rules.partitioning._existing import children


def _signature(ix: IndexStats) -> tuple[object, ...] | None:
    keys = ix.columns[: ix.key_count]
    if ix.expressions is not None or ix.predicate is not None or None in keys:
        return None
    return (ix.method, tuple(keys), ix.options, ix.is_unique)


@register
class PartitionMissingIndex(Rule["PartitionMissingIndex.Options"]):
    """An index most partitions of a table have is missing on some of them.

    What it detects:
        For each partitioned table with at least two plain partitions, indexes (same
        method, columns, order, uniqueness; plain columns only) present on at least
        `min_share` of the partitions but missing on others. The action builds them
        CONCURRENTLY on the partitions that lack them, and attaches them to the parent's
        index when the parent has one.

    Why it matters:
        A statement that uses the index on one partition scans the partitions without it
        sequentially: the same query is fast for one month and slow for the next. An
        index created on a partitioned parent is only complete once every partition has
        a matching index.

    Example:
        events_p202410 and events_p202411 have (user_id); events_p202412 does not

    What to do:
        Create the missing indexes (the action, one partition at a time, without blocking
        writes) and attach them to the parent's index.
    """

    code: ClassVar[str] = "PT006"
    name: ClassVar[str] = "partitioning.missing_index"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW
    reads: ClassVar[tuple[str, ...]] = ("indexes",)

    @dataclass(frozen=True)
    class Options:
        min_share: float = field(default=0.5, metadata={
            "help": "share of partitions that have the index for the others to count as missing "
                    "it."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for parent in [t for t in model.tables.values() if t.relkind == "p"]:
            parts = [p for p in children(model, parent) if p.relkind == "r"]
            if len(parts) < 2:
                continue
            have: dict[int, set[tuple[object, ...]]] = {}
            example: dict[tuple[object, ...], IndexStats] = {}
            for p in parts:
                sigs = set()
                for ix in model.indexes_by_table.get(p.relid, []):
                    sig = _signature(ix)
                    if sig is not None and ix.is_valid:
                        sigs.add(sig)
                        example.setdefault(sig, ix)
                have[p.relid] = sigs
            counts: Counter[tuple[object, ...]] = Counter(s for sigs in have.values() for s in sigs)
            parent_ix = {_signature(ix): ix for ix in model.indexes_by_table.get(parent.relid, [])}
            for sig, n in counts.items():
                if n == len(parts) or n / len(parts) < options.min_share:
                    continue
                missing = [p for p in parts if sig not in have[p.relid]]
                yield self._finding(parent, parts, missing, example[sig], parent_ix.get(sig))

    def _finding(self, parent: TableStats, parts: list[TableStats], missing: list[TableStats],
                 like: IndexStats, parent_index: IndexStats | None) -> Recommendation:
        cols = [str(c) for c in like.columns[: like.key_count]]
        lines = []
        undo = []
        for p in missing:
            name = index_name(p.name, cols, "key" if like.is_unique else "idx")
            ddl = create_index(p.schema, p.name, name, cols, like.method)
            if like.is_unique:
                ddl = ddl.replace("CREATE INDEX", "CREATE UNIQUE INDEX", 1)
            if any(o & 1 for o in like.options):
                ddl = ddl.replace(f"({', '.join(ident(c) for c in cols)})", "(" + ", ".join(
                    ident(c) + (" DESC" if i < len(like.options) and like.options[i] & 1 else "")
                    for i, c in enumerate(cols)) + ")")
            lines.append(ddl)
            if parent_index is not None:
                lines.append(attach_index(parent_index.schema, parent_index.name, p.schema, name))
            undo.append(f"DROP INDEX CONCURRENTLY IF EXISTS {ident(p.schema, name)};")
        names = ", ".join(p.name for p in missing)
        return self.finding(
            title=f"Index ({', '.join(cols)}) missing on {len(missing)} of {len(parts)} "
                  f"partitions of {parent.name}",
            detail=(f"{len(parts) - len(missing)} partitions of {parent.name} have an index on "
                    f"({', '.join(cols)}) (e.g. {like.name}); {names} do not, so statements "
                    "that use it there scan those partitions instead. Create them (the "
                    "action, CONCURRENTLY, one partition at a time)"
                    + (f" and attach them to {parent_index.name}." if parent_index else ".")),
            object=ObjectRef(parent.schema, parent.name, like.name, tuple(cols)),
            action=Action(sql="\n".join(lines), undo_sql="\n".join(undo)),
            evidence={"partitions": len(parts), "missing_on": [p.name for p in missing],
                      "example_index": like.name,
                      "parent_index": parent_index.name if parent_index else None},
            benefit=float(sum(table_rows(p) for p in missing)),
        )
