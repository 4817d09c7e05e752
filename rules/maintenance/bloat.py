"""Bloat: space in tables and btree indexes beyond what their rows need, estimated from the
catalog and pg_stats (no scan of the data, as the well-known check_postgres / ioguix
estimates do), with the command that gives the space back.

The estimate: rows x (tuple header + average width of each column, aligned) packed into
pages at the fill factor, against the pages the relation has. It is an estimate (±20% is
typical): it needs statistics for every column, and it is skipped where they are missing.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, reindex
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.columns import ColumnStats
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._catalog import columns_of, primary_keys
from pgsage.rules._ddl import vacuum
from pgsage.rules._settings import MB
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance.vacuum import reloption

PAGE_HEADER = 24
HEAP_TUPLE_HEADER = 23
INDEX_TUPLE_HEADER = 8
BTREE_SPECIAL = 16
LINE_POINTER = 4
BTREE_FILLFACTOR = 0.9
"""The default; index storage parameters are not collected, so a lower fill factor set on
purpose reads as (at most 10 points of) excess."""
MAXALIGN = 8


def align(n: float, to: int = MAXALIGN) -> float:
    return math.ceil(n / to) * to


def _width(cols: list[ColumnStats]) -> float | None:
    """Average bytes of a row's values; None when a column has no statistics."""
    if any(c.avg_width is None or c.null_frac is None for c in cols):
        return None
    return sum((c.avg_width or 0) * (1 - (c.null_frac or 0)) for c in cols)


@dataclass(frozen=True, slots=True)
class Estimate:
    actual_bytes: int
    expected_bytes: int

    @property
    def bloat_bytes(self) -> int:
        return max(self.actual_bytes - self.expected_bytes, 0)

    @property
    def ratio(self) -> float:
        return self.bloat_bytes / self.actual_bytes if self.actual_bytes else 0.0


def table_estimate(t: TableStats, cols: list[ColumnStats], block: int) -> Estimate | None:
    width = _width(cols)
    if width is None or t.relpages <= 0 or t.reltuples < 0 or not cols:
        return None
    nullable = any((c.null_frac or 0) > 0 for c in cols)
    header = align(HEAP_TUPLE_HEADER + (math.ceil(len(cols) / 8) if nullable else 0))
    tuple_bytes = header + align(width) + LINE_POINTER
    fillfactor = float(reloption(t, "fillfactor") or 100) / 100
    per_page = math.floor((block - PAGE_HEADER) * fillfactor / tuple_bytes)
    if per_page <= 0:
        return None
    rows = t.reltuples + (t.n_dead_tup or 0)  # dead rows are vacuum's business (MT010)
    expected = max(math.ceil(rows / per_page), 1)
    return Estimate(t.relpages * block, expected * block)


def index_estimate(ix: IndexStats, t: TableStats, cols: dict[str, ColumnStats],
                   block: int) -> Estimate | None:
    if (ix.method != "btree" or ix.predicate or ix.expressions or not ix.bytes
            or any(c is None for c in ix.columns) or t.reltuples < 0):
        return None
    used = [cols.get(str(c)) for c in ix.columns]
    if any(c is None for c in used):
        return None
    width = _width([c for c in used if c is not None])
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


def _block(model: Model) -> int:
    return model.server.block_size if model.server else 8192


@register
class TableBloat(Rule):
    """A table takes much more space than its rows need (estimated).

    What it detects:
        Tables whose estimated free space (pages minus what the rows and their dead
        tuples need at the table's fill factor) is at least `min_bytes` and `min_ratio`
        of the table. Estimated from pg_class and pg_stats; tables with columns lacking
        statistics are skipped.

    Why it matters:
        VACUUM makes dead space reusable but does not give it back: after a mass delete or
        an update storm the table stays as large, sequential scans read the empty pages,
        and backups and replicas carry them. If the table will grow back into the space
        soon, leave it; otherwise compact it.

    Example:
        events: 40 GB on disk for 12 GB of rows after a purge of old data

    What to do:
        pg_repack rebuilds the table online (brief locks only; needs the extension and a
        primary key or a unique NOT NULL index). Without it VACUUM FULL does the same
        while blocking all reads and writes of the table for the whole rebuild.

    Options:
        min_bytes: estimated free space from which a table is reported.
        min_ratio: share of the table that must be free space.
    """

    code: ClassVar[str] = "MT014"
    name: ClassVar[str] = "maintenance.table_bloat"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_bytes: int = 100 * MB
        min_ratio: float = 0.4

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        keyed = set(primary_keys(model))
        repack = model.extension_installed("pg_repack")
        database = model.server.database if model.server else model.snapshot.target.database
        for t in model.tables.values():
            if t.relkind not in ("r", "m"):
                continue
            est = table_estimate(t, list(cols.get(t.relid, {}).values()), _block(model))
            if est is None or est.bloat_bytes < options.min_bytes or est.ratio < options.min_ratio:
                continue
            full = vacuum(t.schema, t.name, "FULL", "VERBOSE", "ANALYZE")
            if repack and t.relid in keyed:
                shell = (f"pg_repack --no-order --table={shlex.quote(ident(t.schema, t.name))} "
                         f"--dbname={shlex.quote(str(database))}")
                sql = f"-- or, blocking reads and writes for the whole rebuild:\n{full}"
                how = "pg_repack (installed here) rebuilds it online."
            else:
                shell = None
                sql = full
                how = ("VACUUM FULL rebuilds it but blocks all reads and writes of the table "
                       "while it runs; pg_repack (CREATE EXTENSION pg_repack, plus its client) "
                       "does it online for tables with a primary key.")
            yield self.finding(
                title=f"{t.name} is about {est.ratio:.0%} empty space "
                      f"({format_bytes(est.bloat_bytes)}, estimated)",
                detail=(f"{t.schema}.{t.name} takes {format_bytes(est.actual_bytes)} for "
                        f"{t.reltuples:,.0f} rows that need about "
                        f"{format_bytes(est.expected_bytes)} (estimated from pg_stats): "
                        f"{format_bytes(est.bloat_bytes)} of pages are empty. Vacuum lets new "
                        "rows reuse them but never returns them; compact the table if it will "
                        f"not grow back soon. {how}"),
                object=ObjectRef(t.schema, t.name, None, None),
                action=Action(sql=sql, shell=shell),
                impact={"bytes_saved": est.bloat_bytes},
                evidence={"table_bytes": est.actual_bytes, "expected_bytes": est.expected_bytes,
                          "bloat_bytes": est.bloat_bytes, "bloat_ratio": round(est.ratio, 4),
                          "reltuples": t.reltuples, "relpages": t.relpages,
                          "estimated": True},
                benefit=float(est.bloat_bytes),
            )


@register
class IndexBloat(Rule):
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

    Options:
        min_bytes: estimated excess from which an index is reported.
        min_ratio: share of the index that must be excess.
    """

    code: ClassVar[str] = "MT015"
    name: ClassVar[str] = "maintenance.index_bloat"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_bytes: int = 100 * MB
        min_ratio: float = 0.5

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        for ix in model.indexes:
            t = model.tables.get(ix.relid)
            if t is None or t.relkind == "p" or not ix.is_valid:
                continue
            est = index_estimate(ix, t, cols.get(t.relid, {}), _block(model))
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
