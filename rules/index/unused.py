"""An index no query has used over a long enough window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import concurrent_definition, drop_index
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._stats import DAY, days, describe, iso_date
from pgsage.rules.base import Rule, register
from pgsage.rules.index._unused import protected


def attached_to_parent(model: Model, ix: IndexStats, table: TableStats) -> bool:
    """A partition's index that mirrors an index of its parent (it cannot be dropped alone)."""
    if not table.is_partition or table.parent_relid is None:
        return False
    return any(p.method == ix.method and p.columns == ix.columns
               and p.key_count == ix.key_count and p.predicate == ix.predicate
               for p in model.indexes_by_table.get(table.parent_relid, []))


@register
class UnusedIndex(Rule["UnusedIndex.Options"]):
    """An index no query has used over a long enough window.

    What it detects:
        Indexes whose scan counter (pg_stat_user_indexes.idx_scan) did not move over an
        observation window of at least `min_window_days`, and that are at least `min_bytes`
        large. The window is the time since statistics started counting (the later of the
        server start and the database's last statistics reset), the window between two
        snapshots, or on PostgreSQL 16 and later the time since `last_idx_scan`; the
        longest of these that applies is stated in the finding.

        Never reported: primary keys, unique indexes, indexes backing a constraint,
        exclusion constraints, the replica identity index, indexes a foreign key refers to,
        invalid indexes (IX005 covers them), indexes of partitioned tables and partition
        indexes attached to them, and, when a baseline snapshot is given, indexes or tables
        that did not exist at the baseline.

    Why it matters:
        Every index is updated by each INSERT, by each UPDATE that is not HOT (an indexed
        column blocks HOT updates), and is vacuumed, backed up, replicated and kept in
        memory. An index nothing reads is pure cost.

    Example:
        CREATE INDEX orders_note_idx ON orders (note);
        -- idx_scan = 0 after 30 days of production traffic

    What to do:
        Check that no standby serves reads through it (statistics on the primary do not
        count scans on standbys: look at pg_stat_user_indexes there too) and that no rare
        job (a monthly report) needs it; then drop it CONCURRENTLY, which blocks neither
        reads nor writes. The undo SQL re-creates it from its definition.

        A window shorter than `min_window_days` gives no finding at all: a report run once
        a week leaves an index idle for six days, and a DBA should not be told to drop it
        on the evidence of a short demo or a fresh restart. pgsage cannot see when an index
        was created, so an index younger than the stated window may be reported; the
        finding says so.
    References:
        https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ALL-INDEXES-VIEW
    """

    code: ClassVar[str] = "IX004"
    name: ClassVar[str] = "index.unused"
    category: ClassVar[Category] = Category.INDEX
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_window_days: float = field(default=14.0, metadata={
            "help": "the shortest idle window that gives a finding (days). Raise it to 35 where "
                    "monthly jobs exist."})
        min_bytes: int = field(default=1024 * 1024, metadata={
            "help": "smaller indexes are not reported (they cost next to nothing)."})
        medium_bytes: int = field(default=1024 * 1024 * 1024, metadata={
            "help": "indexes at least this large are reported as medium instead of low."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        now = model.snapshot.taken_at
        start = model.stats_start
        before = model.baseline_indexes
        baseline_tables = ({t.relid for t in model.baseline.rows("tables", TableStats)}
                           if model.baseline is not None else set())
        standby = model.server is not None and model.server.in_recovery
        replicas = len(model.snapshot.data.get("replication", []))
        for ix in model.indexes:
            table = model.tables.get(ix.relid)
            if protected(ix) or table is None or table.relkind == "p" or ix.idx_scan is None:
                continue
            if (ix.bytes or 0) < options.min_bytes or attached_to_parent(model, ix, table):
                continue
            idle: list[tuple[float, str]] = []
            if ix.idx_scan == 0:
                idle.append((now - start, f"was not scanned once in the {days(now - start)} "
                                          f"since statistics started counting "
                                          f"({iso_date(start)})"))
            if ix.last_idx_scan is not None:
                idle.append((now - ix.last_idx_scan,
                             f"was last scanned {days(now - ix.last_idx_scan)} ago "
                             f"({iso_date(ix.last_idx_scan)}; {ix.idx_scan} scans in all "
                             f"since statistics started counting)"))
            if model.baseline is not None:
                old = before.get(ix.indexrelid)
                if old is None or ix.relid not in baseline_tables:
                    continue  # created during the window: too young to judge
                if old.idx_scan == ix.idx_scan:
                    idle.append((model.window.seconds,
                                 f"was not scanned in {describe(model.window)}"))
            if not idle:
                continue
            seconds, how = max(idle)
            if seconds < options.min_window_days * DAY:
                continue
            yield self._finding(model, ix, seconds, how, standby, replicas, options)

    def _finding(self, model: Model, ix: IndexStats, seconds: float, how: str,
                 standby: bool, replicas: int, options: Options) -> Recommendation:
        writes = {c: model.table_counter(ix.relid, f"n_tup_{c}") for c in ("ins", "upd", "del")}
        size = format_bytes(ix.bytes)
        parts = [f"{ix.name} ({size}) on {ix.schema}.{ix.table} {how}."]
        if any(v for v in writes.values()):
            parts.append(f"Over the same window the table took {writes['ins'] or 0} "
                         f"inserts, {writes['upd'] or 0} updates and {writes['del'] or 0} "
                         "deletes, each of which may have had to update this index.")
        if standby:
            parts.append("This server is a standby: its counters show only the queries run "
                         "here. Check the primary and every other standby, and run the DROP "
                         "on the primary.")
        elif replicas:
            parts.append(f"{replicas} standby(s) are connected: scans there are not counted "
                         "on the primary, so check pg_stat_user_indexes on each before "
                         "dropping.")
        else:
            parts.append("Scans on standbys are not counted here: if standbys serve reads, "
                         "check pg_stat_user_indexes on them before dropping.")
        parts.append("pgsage cannot see when an index was created; if this one is younger "
                     "than that window, wait.")
        severity = Severity.MEDIUM if (ix.bytes or 0) >= options.medium_bytes else self.severity
        if standby:
            severity = Severity.INFO
        return self.finding(
            severity=severity,
            title=f"Drop unused index {ix.name} on {ix.table} ({size}, no scans in "
                  f"{days(seconds)})",
            detail=" ".join(parts),
            object=ObjectRef(ix.schema, ix.table, ix.name,
                             tuple(c or "(expression)" for c in ix.columns)),
            action=Action(sql=drop_index(ix.schema, ix.name),
                          undo_sql=concurrent_definition(ix.known_definition)),
            impact={"index_bytes_saved": ix.bytes},
            evidence={"idx_scan": ix.idx_scan, "last_idx_scan": ix.last_idx_scan,
                      "idle_seconds": round(seconds, 1), "index_bytes": ix.bytes,
                      "n_tup_ins": writes["ins"], "n_tup_upd": writes["upd"],
                      "n_tup_del": writes["del"], "standby": standby,
                      "standbys_connected": replicas},
            benefit=float(ix.bytes or 0),
        )
