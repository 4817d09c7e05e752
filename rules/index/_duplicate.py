"""IX002: indexes with identical definitions on the same table."""

from __future__ import annotations

from pgsage.collectors.indexes import IndexStats


def signature(ix: IndexStats) -> tuple[object, ...]:
    """What makes two indexes interchangeable: same keys, order, opclass, method, predicate."""
    return (ix.relid, ix.method, ix.columns, ix.key_count, ix.opclasses, ix.options,
            ix.expressions, ix.predicate)
