"""A table was never analyzed, or changed a lot since its statistics were gathered."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, reset_storage, set_storage
from pgsage.analyzer.units import format_duration
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import table_rows
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance._vacuum import proposed_scale, reloption, table_setting


@register
class StaleStatistics(Rule["StaleStatistics.Options"]):
    """A table was never analyzed, or changed a lot since its statistics were gathered.

    What it detects:
        Tables with at least `min_rows` rows that were never analyzed (no analyze time and
        no pg_stats rows: a crash discards the times, not pg_stats) (medium), or whose
        rows changed since the last analyze exceed twice what autovacuum's analyze
        settings wait for (low). Only tables a statement reads: statistics serve the
        planner of statements that read the table (a SELECT, UPDATE, DELETE or MERGE of
        the window, or a scan in the table's counters); an insert-only table nothing reads
        (pgbench_history) needs none. Not a table autovacuum analyzes and analyzed within
        `recent_seconds`: it is keeping up, and rows changed since wait for its next round.
        Partitioned parents are left out: autovacuum never analyzes them, which is worth a
        scheduled ANALYZE of its own.

    Why it matters:
        The planner sizes every plan from these statistics. Without them it guesses row
        counts and value distributions, and picks nested loops over millions of rows or
        sequential scans for single-row lookups.

    Example:
        A table bulk-loaded a minute ago and queried before autovacuum's analyze ran.

    What to do:
        ANALYZE the table now; for large tables that change steadily, a per-table
        autovacuum_analyze_scale_factor makes autovacuum analyze them more often.
    """

    code: ClassVar[str] = "MT011"
    name: ClassVar[str] = "maintenance.stale_statistics"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=1000, metadata={
            "help": "rows (or changed rows, for a never-analyzed table) from which a table is "
                    "considered."})
        large_rows: int = field(default=1_000_000, metadata={
            "help": "rows from which a per-table analyze scale factor is proposed."})
        recent_seconds: float = field(default=600.0, metadata={
            "help": "an analyze this recent, where autovacuum analyzes the table, is "
                    "autovacuum keeping up."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        with_statistics = {c.relid for c in model.columns if c.inherited is not None}
        read = _read_tables(model)
        for t in model.tables.values():
            if t.relkind not in ("r", "m") or not _is_read(model, t, read):
                continue
            rows = table_rows(t)
            changed = t.n_mod_since_analyze or 0
            # The last-analyze times are statistics counters, which a crash discards;
            # pg_stats is catalog data and survives: a table it describes was analyzed.
            never = (t.last_analyze is None and t.last_autoanalyze is None
                     and t.relid not in with_statistics)
            if never and max(rows, changed) >= options.min_rows:
                yield self._finding(t, rows, changed, Severity.MEDIUM,
                                    "has never been analyzed: the planner guesses its row "
                                    "count and value distributions", options)
                continue
            threshold = table_setting(model, t, "autovacuum_analyze_threshold", 50)
            scale = table_setting(model, t, "autovacuum_analyze_scale_factor", 0.1)
            due = threshold + scale * rows
            last = max(t.last_analyze or 0.0, t.last_autoanalyze or 0.0)
            keeping_up = (_autovacuum_analyzes(model, t)
                          and model.snapshot.taken_at - last <= options.recent_seconds)
            if not never and not keeping_up and rows >= options.min_rows \
                    and changed > 2 * due:
                yield self._finding(
                    t, rows, changed, Severity.LOW,
                    f"had {changed:,} rows changed since it was analyzed "
                    f"{format_duration(model.snapshot.taken_at - last)} ago, more than twice "
                    f"the {due:,.0f} after which autovacuum should analyze it", options)

    def _finding(self, t: TableStats, rows: float, changed: int, severity: Severity,
                 why: str, options: Options) -> Recommendation:
        lines = [f"ANALYZE {ident(t.schema, t.name)};"]
        undo = None
        if rows >= options.large_rows:
            scale = proposed_scale(rows, 100_000)
            lines.append(set_storage(t.schema, t.name,
                                     {"autovacuum_analyze_scale_factor": scale}))
            undo = reset_storage(t.schema, t.name, ["autovacuum_analyze_scale_factor"])
        return self.finding(
            severity=severity,
            title=f"Analyze {t.name}: statistics are "
                  + ("missing" if severity is Severity.MEDIUM else "stale"),
            detail=f"{t.schema}.{t.name} ({rows:,.0f} rows) {why}.",
            object=ObjectRef(t.schema, t.name, None, None),
            action=Action(sql="\n".join(lines), undo_sql=undo),
            evidence={"rows": round(rows), "n_mod_since_analyze": changed,
                      "last_analyze": t.last_analyze, "last_autoanalyze": t.last_autoanalyze},
            benefit=rows,
        )


READING_KINDS = ("select", "update", "delete", "merge")
"""Statements whose plan reads the tables they name (an INSERT ... VALUES reads none)."""


def _read_tables(model: Model) -> set[int] | None:
    """Tables a statement of the window reads; None when the statements are unknown."""
    if not model.collected("statements"):
        return None
    return {table.relid for st in model.workload.statements.values()
            if st.kind in READING_KINDS for table in st.tables}


def _is_read(model: Model, t: TableStats, read: set[int] | None) -> bool:
    """A statement reads the table, or its counters saw a scan; unknown counts as read."""
    if read is not None and t.relid in read:
        return True
    scans = [model.table_counter(t.relid, name) for name in ("seq_scan", "idx_scan")]
    if read is None and all(n is None for n in scans):
        return True
    return any(n for n in scans)


def _autovacuum_analyzes(model: Model, t: TableStats) -> bool:
    """Autovacuum runs on the server and is not turned off for this table."""
    return (model.setting("autovacuum") or "on") == "on" and \
        (reloption(t, "autovacuum_enabled") or "true").lower() not in ("false", "off")
