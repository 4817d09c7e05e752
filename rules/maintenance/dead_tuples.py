"""A table holds many dead row versions: autovacuum is not keeping up with it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import reset_storage, set_storage, vacuum
from pgsage.analyzer.units import format_bytes, format_duration
from pgsage.collectors.tables import TableStats
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance._horizon import xmin_holders
from pgsage.rules.maintenance._vacuum import proposed_scale, reloption, table_setting


@register
class DeadTuples(Rule["DeadTuples.Options"]):
    """A table holds many dead row versions: autovacuum is not keeping up with it.

    What it detects:
        Tables with at least `min_dead` dead tuples making up at least `min_ratio` of
        their rows, or at least `large_dead` making up `large_ratio` (on a big table a
        smaller share is already many rows). The finding says why, from the numbers:
        autovacuum is off for the table (or the server), the dead rows are still below
        what its settings wait for (the scale factor is too high for the table's size),
        or the threshold has been passed and autovacuum has not caught up (busy workers,
        cost limits, or something holding the xmin horizon, named when seen).

    Why it matters:
        Dead tuples take space in the table and its indexes until vacuumed: scans read
        them, caches hold them, and the table grows instead of reusing space. The
        default scale factor (20% of the table) lets a 100-million-row table collect 20
        million dead rows before autovacuum starts.

    Example:
        orders: 2.1M live, 1.4M dead tuples, last autovacuum 3 days ago

    What to do:
        VACUUM the table now, and give it per-table autovacuum settings that trigger
        earlier (a scale factor sized for about `target_rows` changed rows, a fixed
        threshold of 1000); re-enable autovacuum if it was turned off for it. If something
        holds the xmin horizon, end that first (MT016, MT017, MT018): vacuum cannot remove
        rows it may still see.
    """

    code: ClassVar[str] = "MT010"
    name: ClassVar[str] = "maintenance.dead_tuples"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_dead: int = field(default=10_000, metadata={
            "help": "dead tuples from which a table is considered."})
        min_ratio: float = field(default=0.2, metadata={
            "help": "dead / (live + dead) from which a table is reported."})
        large_dead: int = field(default=1_000_000, metadata={
            "help": "dead tuples from which `large_ratio` is enough; with half the rows dead the "
                    "finding is then high."})
        large_ratio: float = field(default=0.1, metadata={
            "help": "dead / (live + dead) from which a table with `large_dead` is reported."})
        target_rows: int = field(default=50_000, metadata={
            "help": "changed rows after which the proposed settings trigger a vacuum."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        holders = xmin_holders(model)
        for t in model.tables.values():
            dead, live = t.n_dead_tup or 0, t.n_live_tup or 0
            if t.relkind not in ("r", "m") or dead < options.min_dead:
                continue
            ratio = dead / (dead + live)
            if ratio < options.min_ratio and not (
                    dead >= options.large_dead and ratio >= options.large_ratio):
                continue
            yield self._finding(model, t, dead, live, ratio, holders, options)

    def _finding(self, model: Model, t: TableStats, dead: int, live: int, ratio: float,
                 holders: list[tuple[str, int]], options: Options) -> Recommendation:
        rows = max(t.reltuples, float(live), 0.0)
        threshold = table_setting(model, t, "autovacuum_vacuum_threshold", 50)
        scale = table_setting(model, t, "autovacuum_vacuum_scale_factor", 0.2)
        trigger = threshold + scale * rows
        disabled_here = (reloption(t, "autovacuum_enabled") or "").lower() in ("false", "off")
        disabled_all = (model.setting("autovacuum") or "on") == "off"
        last = max(t.last_autovacuum or 0.0, t.last_vacuum or 0.0) or None
        last_text = (f"last vacuumed {format_duration(model.snapshot.taken_at - last)} ago"
                     if last else "never vacuumed since statistics were reset")
        lines = [vacuum(t.schema, t.name)]
        settings: dict[str, object] = {}
        if disabled_all:
            cause = ("autovacuum is off for the whole server (autovacuum = off): turn it back "
                     "on (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf();)")
        elif disabled_here:
            cause = "autovacuum is turned off for this table (autovacuum_enabled = false)"
            lines.append(reset_storage(t.schema, t.name, ["autovacuum_enabled"]))
        elif dead <= trigger:
            cause = (f"its settings wait for {trigger:,.0f} dead tuples ({threshold:.0f} + "
                     f"{scale:g} x {rows:,.0f} rows) before autovacuum starts")
        else:
            cause = (f"autovacuum was due at {trigger:,.0f} dead tuples and has not caught up "
                     "(workers busy with other tables, cost-based delay, or rows it may not "
                     "remove yet)")
        new_scale = proposed_scale(rows, options.target_rows)
        if not disabled_all and new_scale < scale:
            settings = {"autovacuum_vacuum_scale_factor": new_scale,
                        "autovacuum_vacuum_threshold": 1000}
            lines.append(set_storage(t.schema, t.name, settings))
        horizon = ""
        if holders:
            what, age = holders[0]
            horizon = (f" The oldest snapshot is held by {what} ({age:,} transactions old): "
                       "vacuum cannot remove rows it may still see, so end it first.")
        severity = (Severity.HIGH if dead >= options.large_dead and ratio >= 0.5
                    else self.severity)
        undo = (reset_storage(t.schema, t.name, list(settings)) if settings else None)
        return self.finding(
            severity=severity,
            title=f"{t.name}: {ratio:.0%} of rows are dead ({dead:,} dead tuples)",
            detail=(f"{t.schema}.{t.name} has {dead:,} dead and {live:,} live tuples "
                    f"({format_bytes(t.table_bytes)}), {last_text}: {cause}.{horizon}"
                    + (f" Proposed for the table: vacuum after {new_scale:g} x rows + 1000 "
                       "changes instead." if settings else "")),
            object=ObjectRef(t.schema, t.name, None, None),
            action=Action(sql="\n".join(lines), undo_sql=undo),
            evidence={"n_dead_tup": dead, "n_live_tup": live, "dead_ratio": round(ratio, 4),
                      "autovacuum_trigger": round(trigger), "scale_factor": scale,
                      "threshold": threshold, "proposed": settings or None,
                      "autovacuum_disabled": disabled_here or disabled_all,
                      "last_vacuum": last, "autovacuum_count": t.autovacuum_count,
                      "table_bytes": t.table_bytes},
            benefit=float(t.table_bytes or 0) * ratio,
        )
