"""A table was never analyzed, or changed a lot since its statistics were gathered."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import format_duration
from pgsage.collectors.tables import TableStats
from pgsage.rules._ddl import reset_storage, set_storage, table
from pgsage.rules._support.catalog import table_rows
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance._vacuum import proposed_scale, table_setting


@register
class StaleStatistics(Rule["StaleStatistics.Options"]):
    """A table was never analyzed, or changed a lot since its statistics were gathered.

    What it detects:
        Tables with at least `min_rows` rows that were never analyzed (no analyze time and
        no pg_stats rows: a crash discards the times, not pg_stats) (medium), or whose
        rows changed since the last analyze exceed twice what autovacuum's analyze
        settings wait for (low). Partitioned parents are left out: autovacuum never
        analyzes them, which is worth a scheduled ANALYZE of its own.

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

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        with_statistics = {c.relid for c in model.columns if c.inherited is not None}
        for t in model.tables.values():
            if t.relkind not in ("r", "m"):
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
            if not never and rows >= options.min_rows and changed > 2 * due:
                last = max(t.last_analyze or 0.0, t.last_autoanalyze or 0.0)
                yield self._finding(
                    t, rows, changed, Severity.LOW,
                    f"had {changed:,} rows changed since it was analyzed "
                    f"{format_duration(model.snapshot.taken_at - last)} ago, more than twice "
                    f"the {due:,.0f} after which autovacuum should analyze it", options)

    def _finding(self, t: TableStats, rows: float, changed: int, severity: Severity,
                 why: str, options: Options) -> Recommendation:
        lines = [f"ANALYZE {table(t.schema, t.name)};"]
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
