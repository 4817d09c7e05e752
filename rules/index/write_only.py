"""IX007: indexes on write-heavy tables that cost far more writes than the reads they serve."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import concurrent_definition, drop_index
from pgsage.analyzer.units import format_bytes
from pgsage.rules._stats import DAY, describe
from pgsage.rules.base import Rule, register
from pgsage.rules.index._unused import protected


@register
class WriteOnlyIndex(Rule["WriteOnlyIndex.Options"]):
    """An index that is maintained on every write but almost never read.

    What it detects:
        On tables with many rows inserted or updated over the window, indexes scanned
        fewer than `max_scans_per_million_writes` times per million rows written (but at
        least once: never-scanned indexes are IX004's). Primary keys, unique,
        constraint-backing, replica-identity and foreign-key-referenced indexes are
        excluded.

    Why it matters:
        Every insert, and every update that is not HOT, writes an entry into every index
        of the table: on a write-heavy table an index read a handful of times costs WAL,
        I/O and buffer cache all day for little benefit, and it prevents HOT updates of
        the columns it covers.

    Example:
        An events table taking 5M inserts a day with an index on (payload_type) that a
        monthly report scanned 3 times.

    What to do:
        Check the statements that use it (a monthly report may need it); if the reads
        can live without it, or run on a replica, drop it CONCURRENTLY. The undo
        re-creates it.
    """

    code: ClassVar[str] = "IX007"
    name: ClassVar[str] = "index.write_only"
    category: ClassVar[Category] = Category.INDEX
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_window_days: float = field(default=7.0, metadata={
            "help": "days the window must span: shorter windows say nothing about rarely "
                    "run reports that need the index."})
        min_writes: int = field(default=100_000, metadata={
            "help": "rows written to the table over the window before its indexes are judged."})
        max_scans_per_million_writes: float = field(default=10.0, metadata={
            "help": "an index scanned less often than this, per million rows written, is "
                    "write-only."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        window = model.counter_window
        if window.seconds < options.min_window_days * DAY:
            return
        for relid, indexes in model.indexes_by_table.items():
            inserted = model.table_counter(relid, "n_tup_ins") or 0
            updated = model.table_counter(relid, "n_tup_upd") or 0
            hot = model.table_counter(relid, "n_tup_hot_upd") or 0
            writes = inserted + max(updated - hot, 0)
            if writes < options.min_writes:
                continue
            for ix in indexes:
                scans = model.index_counter(ix, "idx_scan")
                if protected(ix) or not scans:
                    continue
                per_million = scans / writes * 1_000_000
                if per_million >= options.max_scans_per_million_writes:
                    continue
                yield self.finding(
                    title=f"Index {ix.name} on {ix.table} is written {writes:,} times and "
                          f"read {scans:,} times",
                    detail=f"Over {describe(window)}, {writes:,} rows were inserted or "
                           f"updated (not HOT) in {ix.table}, each writing an entry into "
                           f"{ix.name} ({format_bytes(ix.bytes)}), which was scanned only "
                           f"{scans:,} times ({per_million:.1f} per million writes). Check "
                           "which statements need it before dropping it.",
                    object=ObjectRef(ix.schema, ix.table, ix.name,
                                     tuple(c or "(expression)" for c in ix.columns)),
                    action=Action(sql=drop_index(ix.schema, ix.name),
                                  undo_sql=concurrent_definition(ix.known_definition)),
                    impact={"index_bytes_saved": ix.bytes, "index_writes_saved": writes},
                    evidence={"idx_scan": scans, "rows_written": writes,
                              "index_bytes": ix.bytes, "window_seconds": window.seconds},
                    benefit=float(writes),
                )
