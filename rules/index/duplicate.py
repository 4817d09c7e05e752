"""Two or more indexes on a table have the same definition."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import concurrent_definition, drop_index
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.indexes import IndexStats
from pgsage.rules.base import NoOptions, Rule, register
from pgsage.rules.index._duplicate import signature


def keeper_order(ix: IndexStats) -> tuple[int, int, int, str]:
    """The copy to keep: constraint-backing first, then unique, then most used, then name."""
    return (0 if ix.constraint_type or ix.is_primary or ix.referenced_by_fk else 1,
            0 if ix.is_unique else 1, -(ix.idx_scan or 0), ix.name)


@register
class DuplicateIndex(Rule[NoOptions]):
    """Two or more indexes on a table have the same definition.

    What it detects:
        Valid indexes of one table with the same access method, key columns or expressions
        in the same order, operator classes, sort options and partial-index predicate.

    Why it matters:
        Every copy is written on each INSERT and on each UPDATE that is not HOT, takes
        space in shared_buffers and on disk, and adds planning time; only one is ever useful.

    Example:
        CREATE INDEX orders_user_id_idx ON orders (user_id);
        CREATE INDEX orders_user_idx ON orders (user_id);   -- same index twice

    What to do:
        Drop the copies, keeping the one that backs a constraint (or is unique, or is used
        most). The drop is CONCURRENTLY, so it takes no lock that blocks reads or writes.
    """

    code: ClassVar[str] = "IX002"
    name: ClassVar[str] = "index.duplicate"
    category: ClassVar[Category] = Category.INDEX
    severity: ClassVar[Severity] = Severity.MEDIUM
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        groups: dict[tuple[object, ...], list[IndexStats]] = defaultdict(list)
        for ix in model.indexes:
            if ix.is_valid and ix.definition is not None:  # a locked one is unknown
                groups[signature(ix)].append(ix)
        for same in groups.values():
            if len(same) < 2:
                continue
            keep, *extra = sorted(same, key=keeper_order)
            for ix in extra:
                if ix.constraint_type or ix.is_primary or ix.referenced_by_fk:
                    continue  # both back constraints: dropping needs a schema change
                yield self.finding(
                    title=f"Drop duplicate index {ix.name} on {ix.table} "
                          f"(same as {keep.name})",
                    detail=f"{ix.name} has the same definition as {keep.name} "
                           f"({keep.definition}). It costs {format_bytes(ix.bytes)} and a "
                           f"write on every insert, and was scanned {ix.idx_scan or 0} times; "
                           f"{keep.name} serves the same queries.",
                    object=ObjectRef(ix.schema, ix.table, ix.name,
                                     tuple(c or "(expression)" for c in ix.columns)),
                    action=Action(sql=drop_index(ix.schema, ix.name),
                                  undo_sql=concurrent_definition(ix.known_definition)),
                    impact={"index_bytes_saved": ix.bytes},
                    evidence={"duplicate_of": keep.name, "idx_scan": ix.idx_scan,
                              "index_bytes": ix.bytes},
                    benefit=float(ix.bytes or 0),
                )
