"""Vacuum and statistics: dead tuples and autovacuum lag, stale planner statistics,
transaction ID and multixact wraparound."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.analyzer.units import format_bytes, format_duration
from pgsage.collectors.database import DatabaseAge
from pgsage.collectors.tables import TableStats
from pgsage.rules._ddl import reset_storage, set_storage, table, vacuum
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance.horizon import xmin_holders

WRAPAROUND_LIMIT = 2**31 - 1
"""Transaction IDs (and multixact IDs) a database can be behind before wraparound."""


def reloption(t: TableStats, name: str) -> str | None:
    for entry in t.reloptions or ():
        key, _, value = entry.partition("=")
        if key == name:
            return value
    return None


def table_setting(model: Model, t: TableStats, name: str, default: float) -> float:
    """A per-table autovacuum setting, else the server's."""
    value = reloption(t, name) or model.setting(name)
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def proposed_scale(rows: float, target_rows: int) -> float:
    """A scale factor that triggers vacuum after about `target_rows` changes (0.005-0.1)."""
    if rows <= 0:
        return 0.1
    return round(min(max(target_rows / rows, 0.005), 0.1), 3)


@register
class DeadTuples(Rule):
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

    Options:
        min_dead: dead tuples from which a table is considered.
        min_ratio: dead / (live + dead) from which a table is reported.
        large_dead: dead tuples from which `large_ratio` is enough; with half the rows
            dead the finding is then high.
        large_ratio: dead / (live + dead) from which a table with `large_dead` is reported.
        target_rows: changed rows after which the proposed settings trigger a vacuum.
    """

    code: ClassVar[str] = "MT010"
    name: ClassVar[str] = "maintenance.dead_tuples"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_dead: int = 10_000
        min_ratio: float = 0.2
        large_dead: int = 1_000_000
        large_ratio: float = 0.1
        target_rows: int = 50_000

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


@register
class StaleStatistics(Rule):
    """A table was never analyzed, or changed a lot since its statistics were gathered.

    What it detects:
        Tables with at least `min_rows` rows that were never analyzed (medium), or whose
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

    Options:
        min_rows: rows (or changed rows, for a never-analyzed table) from which a table
            is considered.
        large_rows: rows from which a per-table analyze scale factor is proposed.
    """

    code: ClassVar[str] = "MT011"
    name: ClassVar[str] = "maintenance.stale_statistics"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_rows: int = 1000
        large_rows: int = 1_000_000

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for t in model.tables.values():
            if t.relkind not in ("r", "m"):
                continue
            rows = max(t.reltuples, float(t.n_live_tup or 0), 0.0)
            changed = t.n_mod_since_analyze or 0
            never = t.last_analyze is None and t.last_autoanalyze is None
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


@register
class Wraparound(Rule):
    """A database is far into its transaction ID (or multixact ID) space.

    What it detects:
        Databases whose oldest unfrozen transaction ID (age(datfrozenxid)) or multixact
        ID (mxid_age(datminmxid)) has used `warn_ratio` of the 2^31 limit (high), or
        `critical_ratio` (critical). For the database pgsage is connected to, the tables
        with the oldest unfrozen rows are named.

    Why it matters:
        PostgreSQL must freeze old rows before IDs wrap around. When a database gets
        within 40 million (3 million, from 14) of the limit it refuses new transactions
        until a manual VACUUM finishes: a full outage that can last hours on a large
        database. Autovacuum normally freezes at autovacuum_freeze_max_age (200 million);
        ages far beyond that mean freezing is blocked or cannot keep up.

    Example:
        age(datfrozenxid) = 1.2 billion on the main database

    What to do:
        VACUUM (FREEZE) the oldest tables first, after ending whatever holds the xmin
        horizon (long transactions, inactive slots, prepared transactions), then find out
        why autovacuum did not (cancelled by locks, cost limits, too few workers).

    Options:
        warn_ratio: share of the limit from which a database is high.
        critical_ratio: share of the limit from which it is critical.
    """

    code: ClassVar[str] = "MT012"
    name: ClassVar[str] = "maintenance.wraparound"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        warn_ratio: float = 0.5
        critical_ratio: float = 0.8

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        current = model.server.database if model.server else model.snapshot.target.database
        for db in model.databases:
            for kind, age in (("transaction ID", db.frozenxid_age),
                              ("multixact ID", db.minmxid_age)):
                ratio = age / WRAPAROUND_LIMIT
                if ratio < options.warn_ratio:
                    continue
                yield self._finding(model, db, kind, age, ratio, db.datname == current,
                                    Severity.CRITICAL if ratio >= options.critical_ratio
                                    else self.severity)

    def _finding(self, model: Model, db: DatabaseAge, kind: str, age: int, ratio: float,
                 here: bool, severity: Severity) -> Recommendation:
        xid = kind == "transaction ID"
        oldest: list[TableStats] = []
        if here:
            def age_of(t: TableStats) -> int:
                return (t.frozenxid_age if xid else t.minmxid_age) or 0

            oldest = sorted((t for t in model.tables.values() if age_of(t) > 0), key=age_of,
                            reverse=True)[:5]
        holders = xmin_holders(model)
        if oldest:
            sql = "\n".join(vacuum(t.schema, t.name, "FREEZE", "VERBOSE") for t in oldest)
            shell = None
        else:
            sql = f"-- connected to database {ident(db.datname)}:\nVACUUM (FREEZE, VERBOSE);"
            shell = f"vacuumdb --freeze --jobs=4 --dbname={shlex.quote(db.datname)}"
        tables = (" Oldest tables here: " + ", ".join(
            f"{t.schema}.{t.name} ({(t.frozenxid_age if xid else t.minmxid_age) or 0:,})"
            for t in oldest) + "." if oldest else "")
        blocker = (f" The xmin horizon is held by {holders[0][0]} ({holders[0][1]:,} "
                   "transactions): end it first or freezing cannot advance." if holders else "")
        return self.finding(
            severity=severity,
            title=f"Database {db.datname} has used {ratio:.0%} of its {kind} space",
            detail=(f"Database {db.datname} is {age:,} {kind}s behind ({ratio:.1%} of the "
                    f"{WRAPAROUND_LIMIT:,} limit; {WRAPAROUND_LIMIT - age:,} left). Near the "
                    "limit PostgreSQL stops accepting transactions until a manual VACUUM "
                    f"completes.{tables}{blocker}"),
            object=ObjectRef(),
            action=Action(sql=sql, shell=shell),
            evidence={"database": db.datname, "kind": kind, "age": age,
                      "ratio": round(ratio, 4), "remaining": WRAPAROUND_LIMIT - age,
                      "oldest_tables": [f"{t.schema}.{t.name}" for t in oldest]},
            benefit=OUTAGE_BENEFIT * ratio,
        )
