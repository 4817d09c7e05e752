"""A btree index takes much more space than its entries need (estimated)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import reindex
from pgsage.analyzer.units import MB, format_bytes
from pgsage.collectors.columns import Column
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import columns_of
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance._bloat import (
    LINE_POINTER,
    PAGE_HEADER,
    Estimate,
    align,
    block_size,
    row_width,
)

INDEX_TUPLE_HEADER = 8


BTREE_SPECIAL = 16


BTREE_FILLFACTOR = 0.9
"""The default; index storage parameters are not collected, so a lower fill factor set on
purpose reads as (at most 10 points of) excess."""


def index_estimate(ix: IndexStats, t: TableStats, cols: dict[str, Column],
                   block: int) -> Estimate | None:
    if (ix.method != "btree" or ix.predicate or ix.expressions or not ix.bytes
            or any(c is None for c in ix.columns) or t.reltuples < 0):
        return None
    used = [cols.get(str(c)) for c in ix.columns]
    if any(c is None for c in used):
        return None
    width = row_width([c for c in used if c is not None])
    if width is None:
        return None
    tuple_bytes = align(INDEX_TUPLE_HEADER + width) + LINE_POINTER
    fillfactor = BTREE_FILLFACTOR
    per_page = math.floor((block - PAGE_HEADER - BTREE_SPECIAL) * fillfactor / tuple_bytes)
    if per_page <= 1:
        return None
    rows = t.reltuples + (t.n_dead_tup or 0)
    leaves = max(math.ceil(rows / per_page), 1)
    expected = leaves + math.ceil(leaves / per_page) + 1  # internal pages and the metapage
    return Estimate(ix.bytes, expected * block)


@register
class IndexBloat(Rule["IndexBloat.Options"]):
    """A btree index takes much more space than its entries need (estimated).

    What it detects:
        btree indexes (plain columns, not partial) whose size exceeds the estimate for
        their table's rows at the default fill factor by at least `min_bytes` and
        `min_ratio` of the index. Deduplication (13+) makes indexes smaller than the
        estimate, never larger, so it does not cause findings.

    Why it matters:
        Index pages emptied by deletes and updates are reused only for keys in the same
        range; an index on a growing key (ids, timestamps) keeps its empty pages forever.
        Every scan and every cache slot then pays for them.

    Example:
        orders_created_at_idx: 9 GB, about 2 GB needed

    What to do:
        REINDEX INDEX CONCURRENTLY builds a compact copy and swaps it in without blocking
        reads or writes (it needs the disk space of the new index meanwhile).
    """

    code: ClassVar[str] = "MT015"
    name: ClassVar[str] = "maintenance.index_bloat"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_bytes: int = field(default=100 * MB, metadata={
            "help": "estimated excess from which an index is reported."})
        min_ratio: float = field(default=0.5, metadata={
            "help": "share of the index that must be excess."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        for ix in model.indexes:
            t = model.tables.get(ix.relid)
            if t is None or t.relkind == "p" or not ix.is_valid:
                continue
            est = index_estimate(ix, t, cols.get(t.relid, {}), block_size(model))
            if est is None or est.bloat_bytes < options.min_bytes or est.ratio < options.min_ratio:
                continue
            yield self.finding(
                title=f"Rebuild index {ix.name}: about {est.ratio:.0%} excess "
                      f"({format_bytes(est.bloat_bytes)}, estimated)",
                detail=(f"{ix.schema}.{ix.name} on {ix.table} takes "
                        f"{format_bytes(est.actual_bytes)}; its {t.reltuples:,.0f} entries need "
                        f"about {format_bytes(est.expected_bytes)} (estimated from pg_stats). "
                        "REINDEX CONCURRENTLY builds a compact copy without blocking reads or "
                        "writes, using that much disk space meanwhile."),
                object=ObjectRef(ix.schema, ix.table, ix.name,
                                 tuple(c or "(expression)" for c in ix.columns)),
                action=Action(sql=reindex(ix.schema, ix.name)),
                impact={"bytes_saved": est.bloat_bytes},
                evidence={"index_bytes": est.actual_bytes, "expected_bytes": est.expected_bytes,
                          "bloat_bytes": est.bloat_bytes, "bloat_ratio": round(est.ratio, 4),
                          "estimated": True},
                benefit=float(est.bloat_bytes),
            )
