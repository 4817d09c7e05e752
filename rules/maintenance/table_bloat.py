"""A table takes much more space than its rows need (estimated)."""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, vacuum
from pgsage.analyzer.units import MB, format_bytes
from pgsage.collectors.columns import Column
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import columns_of, primary_keys
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance._bloat import (
    LINE_POINTER,
    PAGE_HEADER,
    Estimate,
    align,
    block_size,
    row_width,
)
from pgsage.rules.maintenance._vacuum import reloption

HEAP_TUPLE_HEADER = 23


def table_estimate(t: TableStats, cols: list[Column], block: int) -> Estimate | None:
    width = row_width(cols)
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


@register
class TableBloat(Rule["TableBloat.Options"]):
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
    """

    code: ClassVar[str] = "MT014"
    name: ClassVar[str] = "maintenance.table_bloat"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_bytes: int = field(default=100 * MB, metadata={
            "help": "estimated free space from which a table is reported."})
        min_ratio: float = field(default=0.4, metadata={
            "help": "share of the table that must be free space."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        keyed = set(primary_keys(model))
        repack = model.extension_installed("pg_repack")
        database = model.server.database if model.server else model.snapshot.target.database
        for t in model.tables.values():
            if t.relkind not in ("r", "m"):
                continue
            est = table_estimate(t, list(cols.get(t.relid, {}).values()), block_size(model))
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
