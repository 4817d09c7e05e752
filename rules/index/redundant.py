"""IX003: an index whose keys are a leading prefix of another index on the same table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import concurrent_definition, drop_index
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.indexes import IndexStats
from pgsage.rules.base import Rule, register
from pgsage.rules.index._duplicate import signature
from pgsage.rules.index._unused import protected


def keys(ix: IndexStats) -> tuple[str | None, ...]:
    return ix.columns[: ix.key_count]


def covers_prefix(short: IndexStats, long: IndexStats) -> bool:
    """Whether `long` serves every lookup `short` serves: same method, predicate and
    expressions, and `short`'s key columns, operator classes and sort options lead `long`."""
    if short.indexrelid == long.indexrelid or short.method != long.method:
        return False
    if short.method != "btree" or not long.is_valid:
        return False
    if (short.predicate or None) != (long.predicate or None):
        return False
    if short.expressions or long.expressions:
        return False
    n = short.key_count
    if n >= long.key_count:
        return False
    return (keys(long)[:n] == keys(short) and long.opclasses[:n] == short.opclasses[:n]
            and long.options[:n] == short.options[:n])


@register
class RedundantIndex(Rule["RedundantIndex.Options"]):
    """An index made redundant by a wider index that starts with the same columns.

    What it detects:
        A btree index whose key columns (with their operator classes and sort order) are a
        leading prefix of another valid btree index of the same table with the same
        predicate, e.g. (user_id) beside (user_id, created_at). Unique, primary-key,
        constraint-backing, replica-identity and foreign-key-referenced indexes are never
        proposed for dropping, and expression indexes are left alone.

    Why it matters:
        The wider index answers every lookup the narrower one does, so the narrower one
        only costs space and an extra write on every insert and non-HOT update.

    Example:
        CREATE INDEX orders_user_id_idx ON orders (user_id);
        CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at);

    What to do:
        Drop the narrower index CONCURRENTLY. Lookups it served use the wider one, which
        is somewhat larger, so watch the statements that used it (scans are in the
        evidence). The undo re-creates it.
    """

    code: ClassVar[str] = "IX003"
    name: ClassVar[str] = "index.redundant"
    category: ClassVar[Category] = Category.INDEX
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_bytes: int = field(default=1024 * 1024, metadata={
            "help": "narrower indexes smaller than this are not reported."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for indexes in model.indexes_by_table.values():
            for short in indexes:
                if protected(short) or (short.bytes or 0) < options.min_bytes:
                    continue
                wider = [ix for ix in indexes if ix.definition is not None
                         and covers_prefix(short, ix)
                         and signature(ix) != signature(short)]
                if not wider:
                    continue
                long = min(wider, key=lambda ix: (ix.key_count, ix.bytes or 0, ix.name))
                yield self.finding(
                    title=f"Drop redundant index {short.name} on {short.table}: "
                          f"{long.name} starts with the same columns",
                    detail=f"{short.name} ({', '.join(c or '?' for c in keys(short))}) is a "
                           f"leading prefix of {long.name} "
                           f"({', '.join(c or '?' for c in keys(long))}), which serves the "
                           f"same lookups. Dropping it frees {format_bytes(short.bytes)} and "
                           f"one index write per inserted row. It was scanned "
                           f"{short.idx_scan or 0} times and {long.name} "
                           f"{long.idx_scan or 0} times since statistics were reset.",
                    object=ObjectRef(short.schema, short.table, short.name,
                                     tuple(c or "(expression)" for c in keys(short))),
                    action=Action(sql=drop_index(short.schema, short.name),
                                  undo_sql=concurrent_definition(short.known_definition)),
                    impact={"index_bytes_saved": short.bytes},
                    evidence={"covered_by": long.name, "idx_scan": short.idx_scan,
                              "covered_by_idx_scan": long.idx_scan,
                              "index_bytes": short.bytes},
                    benefit=float(short.bytes or 0),
                )
