"""The model rules read: one snapshot (and optionally an older one), indexed and with rates.

Rules never see SQL rows or connections; they see this. Counters become deltas over the
window between two snapshots when a baseline exists, or totals since the last statistics
reset otherwise; the window says which, so every finding can state what it measured.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import pandas as pd

from pgsage.analyzer.model.host import HostSpec
from pgsage.analyzer.model.index_plan import IndexPlan
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.statements import totals as statement_totals
from pgsage.analyzer.model.workload import Catalog, TableRef, Workload
from pgsage.analyzer.model.workload import build as build_workload
from pgsage.collectors.activity import Backend
from pgsage.collectors.archiver import ArchiverStats
from pgsage.collectors.bgwriter import BgwriterStats
from pgsage.collectors.columns import Column
from pgsage.collectors.constraints import Constraint
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.databases import Database
from pgsage.collectors.extensions import Extension
from pgsage.collectors.hba import HbaRule
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.key_ranges import KeyRange
from pgsage.collectors.namespaces import Namespace
from pgsage.collectors.plans import StatementPlan
from pgsage.collectors.prepared_xacts import PreparedXact
from pgsage.collectors.redact import redact
from pgsage.collectors.relations import Relation
from pgsage.collectors.replication import Replica
from pgsage.collectors.replication_slots import ReplicationSlot
from pgsage.collectors.roles import Role
from pgsage.collectors.row_security import RowSecurity
from pgsage.collectors.sequences import Sequence
from pgsage.collectors.server import Server
from pgsage.collectors.settings import Setting
from pgsage.collectors.statements import StatementStats
from pgsage.collectors.statements_info import StatementsInfoStats
from pgsage.collectors.tables import TableStats
from pgsage.collectors.wal import WalStats

STATEMENT_KEY = ["userid", "dbid", "toplevel", "queryid"]
STATEMENT_COUNTERS = [
    "calls", "plans", "total_exec_time", "total_plan_time", "rows",
    "shared_blks_hit", "shared_blks_read", "shared_blks_dirtied", "shared_blks_written",
    "local_blks_hit", "local_blks_read", "temp_blks_read", "temp_blks_written",
    "shared_blk_read_time", "shared_blk_write_time", "wal_records", "wal_fpi", "wal_bytes",
    "jit_functions", "jit_generation_time", "jit_inlining_time", "jit_optimization_time",
    "jit_emission_time",
]

UNIT_BYTES = {"B": 1, "kB": 1024, "8kB": 8192, "16kB": 16384, "32kB": 32768, "64kB": 65536,
              "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60_000.0, "h": 3_600_000.0,
           "d": 86_400_000.0}
SAME_START_S = 0.05
"""Counter windows whose starts are this close began together (one script's resets)."""


@dataclass(frozen=True, slots=True)
class Window:
    """The time a family of counters covers, and how pgsage knows its start.

    Cumulative counters count from a start PostgreSQL records (a reset, or for fixed
    statistics their creation) and survive a clean restart (PostgreSQL 15+ keeps them on
    disk; so did 14's statistics collector) but not a crash. A rate is only honest over a
    window whose start is known and that every counter in it shares; where the start
    cannot be known, `start` is None and rates are not computed from it.
    """

    start: float | None
    """None when the counters' start cannot be known (e.g. never reset since initdb)."""
    end: float
    kind: str
    """`between-snapshots` (two snapshots of the same counters), `since-reset`, or `none`
    (offline work that reads no counters: `pgsage migration check` without a DSN)."""
    since: str = "statistics were last reset"
    """What began a since-reset window, in words, for `describe()`."""
    warming_up: bool = False
    """A since-reset window withheld until a second snapshot measures one (the sidecar's
    first cycles): its start is None, so no rate is computed from it."""

    @property
    def known(self) -> bool:
        return self.start is not None

    @property
    def seconds(self) -> float:
        """The window's length; 0 when its start is unknown (no rate can use it)."""
        return max(self.end - self.start, 0.0) if self.start is not None else 0.0

    def per_second(self, count: float) -> float | None:
        """`count` as a rate over this window, or None when the window gives no rate."""
        return count / self.seconds if self.seconds > 0 else None

    def describe(self) -> str:
        """The window as a noun phrase: `over {describe()}` in a finding's text."""
        if self.kind == "none":
            return "no counters (offline)"
        if self.warming_up:
            return (f"the time since {self.since} (warming up: rates once a second snapshot "
                    "of these counters measures them)")
        if self.start is None:
            return f"the time since {self.since} (start unknown)"
        span = _span(self.seconds)
        if self.kind == "between-snapshots":
            return (f"the {span} from {_clock(self.start)} to {_clock(self.end)} between two "
                    "snapshots")
        return f"the {span} since {_clock(self.start)}, when {self.since}"

    def to_json(self) -> dict[str, object]:
        """The report contract's window; an unknown start is a window of no length (`start`
        = `end`, `seconds` 0, `known` false), so clients that read the stable fields never
        see a guessed span."""
        start = self.start if self.start is not None else self.end
        out: dict[str, object] = {
            "start": _iso(start), "end": _iso(self.end), "seconds": round(self.seconds, 3),
            "kind": self.kind, "known": self.known, "described": self.describe()}
        if self.warming_up:
            out["warming_up"] = True
        return out


def _span(seconds: float) -> str:
    if seconds >= 2 * 86_400:
        return f"{seconds / 86_400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CRASH_RESET_SLACK_S = 3600.0
"""How long after the postmaster's start a start without saved statistics may reset them
(crash recovery replays WAL first)."""


@dataclass(frozen=True)
class Derived:
    """What a model derives, at a cost, from its statements and catalog inputs: statement
    deltas (pandas), name resolution and the parsed workload. A later model over the same
    inputs is given these instead of computing them again (the sidecar, between cycles)."""

    statements: pd.DataFrame
    catalog: Catalog
    workload: Workload


@dataclass
class Model:
    snapshot: Snapshot
    baseline: Snapshot | None = None
    query_texts: Mapping[int, str] = field(default_factory=dict)
    """Texts known from elsewhere (the sidecar's cache), by queryid."""
    index_plan: IndexPlan = field(default_factory=lambda: IndexPlan(method="none"))
    """The index advisor's plan, computed by the engine before the rules run (HypoPG what-if
    on a live session, the pg_stats estimate offline); `none` until then."""
    derived: Derived | None = None
    """Values computed by an earlier model over the same inputs, used as they are."""
    host: HostSpec = field(default_factory=HostSpec)
    """RAM, CPUs and storage of the host as the user gave them (the rest is assumed)."""
    rates_need_baseline: bool = False
    """Rates only between two snapshots (the sidecar): a measured window comes within a
    cycle, and a rate since the last reset (a bulk load months ago, say) is one a later cycle
    would withdraw. Counters without a baseline then have a warming-up window."""

    # --- raw records -------------------------------------------------------------------
    @cached_property
    def server(self) -> Server | None:
        return self.snapshot.one("server", Server)

    @property
    def version_num(self) -> int:
        return self.snapshot.target.server_version_num or 0

    @cached_property
    def settings(self) -> dict[str, Setting]:
        return {s.name: s for s in self.snapshot.rows("settings", Setting)}

    @cached_property
    def extensions(self) -> dict[str, Extension]:
        return {e.name: e for e in self.snapshot.rows("extensions", Extension)}

    def extension_installed(self, name: str) -> bool:
        ext = self.extensions.get(name)
        return ext is not None and ext.installed_version is not None

    @cached_property
    def tables(self) -> dict[int, TableStats]:
        return {t.relid: t for t in self.snapshot.rows("tables", TableStats)}

    @cached_property
    def indexes(self) -> list[IndexStats]:
        return self.snapshot.rows("indexes", IndexStats)

    @cached_property
    def indexes_by_table(self) -> dict[int, list[IndexStats]]:
        out: dict[int, list[IndexStats]] = defaultdict(list)
        for ix in self.indexes:
            out[ix.relid].append(ix)
        return out

    @cached_property
    def columns(self) -> list[Column]:
        return self.snapshot.rows("columns", Column)

    @cached_property
    def constraints(self) -> list[Constraint]:
        return self.snapshot.rows("constraints", Constraint)

    @cached_property
    def sequences(self) -> list[Sequence]:
        return self.snapshot.rows("sequences", Sequence)

    @cached_property
    def statements_info(self) -> StatementsInfoStats | None:
        return self.snapshot.one("statements_info", StatementsInfoStats)

    # --- server-wide state: activity, WAL, archiving, replication, roles, access ------------
    @cached_property
    def database(self) -> DatabaseStats | None:
        return self.snapshot.one("database", DatabaseStats)

    @cached_property
    def databases(self) -> list[Database]:
        return self.snapshot.rows("databases", Database)

    @cached_property
    def bgwriter(self) -> BgwriterStats | None:
        return self.snapshot.one("bgwriter", BgwriterStats)

    @cached_property
    def activity(self) -> list[Backend]:
        return self.snapshot.rows("activity", Backend)

    @cached_property
    def wal(self) -> WalStats | None:
        return self.snapshot.one("wal", WalStats)

    @cached_property
    def archiver(self) -> ArchiverStats | None:
        return self.snapshot.one("archiver", ArchiverStats)

    @cached_property
    def replicas(self) -> list[Replica]:
        return self.snapshot.rows("replication", Replica)

    @cached_property
    def replication_slots(self) -> list[ReplicationSlot]:
        return self.snapshot.rows("replication_slots", ReplicationSlot)

    @cached_property
    def prepared_xacts(self) -> list[PreparedXact]:
        return self.snapshot.rows("prepared_xacts", PreparedXact)

    @cached_property
    def roles(self) -> dict[str, Role]:
        return {r.name: r for r in self.snapshot.rows("roles", Role)}

    @cached_property
    def hba_rules(self) -> list[HbaRule]:
        return self.snapshot.rows("hba", HbaRule)

    @cached_property
    def namespaces(self) -> list[Namespace]:
        return self.snapshot.rows("namespaces", Namespace)

    @cached_property
    def relations(self) -> list[Relation]:
        """Every relation name in the user schemas (indexes, sequences, views too)."""
        return self.snapshot.rows("relations", Relation)

    @cached_property
    def row_security(self) -> dict[int, RowSecurity]:
        return {r.relid: r for r in self.snapshot.rows("row_security", RowSecurity)}

    @cached_property
    def key_ranges(self) -> list[KeyRange]:
        return self.snapshot.rows("key_ranges", KeyRange)

    @cached_property
    def plans(self) -> dict[int, StatementPlan]:
        """Generic plans of the top statements by queryid (`analyzer.plans`); may be empty."""
        return {p.queryid: p for p in self.snapshot.rows("plans", StatementPlan)}

    @cached_property
    def baseline_plans(self) -> dict[int, StatementPlan]:
        """The baseline snapshot's plans by queryid (empty without a baseline or plans)."""
        if self.baseline is None:
            return {}
        return {p.queryid: p for p in self.baseline.rows("plans", StatementPlan)}

    def collected(self, collector: str) -> bool:
        status = self.snapshot.status.get(collector)
        return status is not None and status.ok

    def skipped_reason(self, collector: str) -> str | None:
        status = self.snapshot.status.get(collector)
        if status is None:
            return "not collected"
        return None if status.ok else status.reason

    # --- settings ----------------------------------------------------------------------
    def setting(self, name: str) -> str | None:
        s = self.settings.get(name)
        return s.setting if s else None

    def setting_bytes(self, name: str) -> int | None:
        """A memory setting in bytes (pg_settings gives a number and a unit such as 8kB)."""
        s = self.settings.get(name)
        if s is None or s.setting is None:
            return None
        try:
            value = int(s.setting)
        except ValueError:
            return None
        return value * UNIT_BYTES.get(s.unit or "B", 1) if value >= 0 else value

    def setting_ms(self, name: str) -> float | None:
        s = self.settings.get(name)
        if s is None or s.setting is None:
            return None
        try:
            value = float(s.setting)
        except ValueError:
            return None
        return value * UNIT_MS.get(s.unit or "ms", 1.0) if value >= 0 else value

    # --- windows and statements ---------------------------------------------------------
    @cached_property
    def window(self) -> Window:
        """What pg_stat_statements' counters cover.

        Between the two snapshots when the baseline has statements (the sidecar's first
        cycles may not yet) and pg_stat_statements was not reset in between; otherwise
        since its last reset (`pg_stat_statements_info`, which also records when the
        extension started counting, and survives a clean restart), unknown where that view
        is missing. Never the postmaster's start: the counters
        survive a clean restart, so dividing by the uptime inflates every rate.
        """
        info = self.statements_info
        reset = info.stats_reset if info is not None else None
        if self.baseline is not None and "statements" in self.baseline.data:
            before = self.baseline.one("statements_info", StatementsInfoStats)
            if reset is None or (before is not None and before.stats_reset == reset):
                return Window(self.baseline.taken_at, self.snapshot.taken_at,
                              "between-snapshots")
        return self._since_reset(
            reset, "pg_stat_statements last started counting (a reset, or its first start)")

    @cached_property
    def statements(self) -> pd.DataFrame:
        """Statement counters over the window, one row per (user, db, toplevel, queryid),
        without pgsage's own statements (`own_queryids`): they are not the workload."""
        if self.derived is not None:
            return self.derived.statements
        frame = self._collected_statements
        own = self.own_queryids
        if not own:
            return frame
        return frame[~frame["queryid"].isin(own)].reset_index(drop=True)

    @cached_property
    def _collected_statements(self) -> pd.DataFrame:
        """Statement counters over the window as collected (pgsage's nested entries out).

        With a baseline: the difference of each counter. An entry whose calls went down was
        reset or evicted and re-entered in between, so its current value is the best estimate;
        an entry absent from the baseline is new and counts whole. Never negative.
        """
        current = self._own_statements_dropped(_statements_frame(self.snapshot))
        if current.empty or self.baseline is None or self.window.kind != "between-snapshots":
            return current
        before = self._own_statements_dropped(_statements_frame(self.baseline))
        if before.empty:
            return current
        merged = current.merge(before[[*STATEMENT_KEY, *STATEMENT_COUNTERS]], on=STATEMENT_KEY,
                               how="left", suffixes=("", "_before"))
        reset = merged["calls_before"].isna() | (merged["calls"] < merged["calls_before"])
        for col in STATEMENT_COUNTERS:
            prior = merged[f"{col}_before"].where(~reset, 0).fillna(0)
            merged[col] = (merged[col].fillna(0) - prior).clip(lower=0)
        merged = merged.drop(columns=[f"{c}_before" for c in STATEMENT_COUNTERS])
        merged = merged[merged["calls"] > 0].copy()
        merged["mean_exec_time"] = merged["total_exec_time"] / merged["calls"]
        return merged.reset_index(drop=True)

    @cached_property
    def own_queryids(self) -> frozenset[int]:
        """pgsage's own top-level statements: SELECTs run only under its role that read
        none of the application's tables (its collection reads the catalog and calls
        functions such as `current_schemas`). No rule advises on them or lists them.

        Under a role the application shares (both as `postgres`), the application's own
        table-free SELECTs (`SELECT 1`) go too; they carry no advice either.
        """
        frame = self._collected_statements
        if frame.empty or self.server is None or "username" not in frame.columns:
            return frozenset()
        mine = frame["username"] == self.server.current_user
        candidates = set(frame.loc[mine, "queryid"]) - set(frame.loc[~mine, "queryid"])
        parsed = self._parsed_workload.statements
        return frozenset(int(q) for q in candidates
                         if (st := parsed.get(int(q))) is not None and st.kind == "select"
                         and not st.tables)

    @cached_property
    def totals(self) -> dict[int, Totals]:
        """Counters per queryid over the window, summed over users and nesting levels."""
        return statement_totals(self.statements)

    def _own_statements_dropped(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Without pgsage's own nested entries (statements it planned with PREPARE/EXPLAIN
        are recorded under its role, not top level, with the planned statement's queryid)."""
        if frame.empty or self.server is None:
            return frame
        own = (frame["username"] == self.server.current_user) & ~frame["toplevel"].astype(bool)
        return frame[~own].reset_index(drop=True)

    def statement_text(self, queryid: int) -> str | None:
        known = self.query_texts.get(queryid)
        if known is not None:
            return redact(known)  # texts from elsewhere (an older snapshot) may predate redaction
        return self._texts.get(queryid)

    @cached_property
    def _texts(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for snap in (self.baseline, self.snapshot):
            if snap is None:
                continue
            # Top-level entries last, so their text wins over a nested entry's (whose text
            # is the enclosing statement, e.g. a PREPARE or a function call).
            for s in sorted(snap.rows("statements", StatementStats), key=lambda r: r.toplevel):
                if s.query is not None:
                    out[s.queryid] = redact(s.query)
        return out

    # --- helpers rules share ------------------------------------------------------------
    def table(self, relid: int) -> TableStats | None:
        return self.tables.get(relid)

    @cached_property
    def stats_start(self) -> float:
        """Since when this database's table and index counters have counted at least: the
        later of the postmaster's start and the last reset (or crash).

        For verdicts such as "not scanned once in 30 days", not for rates: the counters of an
        object that existed ran at least since then (a clean restart keeps them, a crash or
        a reset discards them), so the idle time is never overstated; a rate over it would
        be, after a clean restart (`counter_window` is for rates).
        """
        starts = [s for s in (self.server.started_at if self.server else None,
                              self.database.stats_reset if self.database else None)
                  if s is not None]
        return max(starts) if starts else self.snapshot.taken_at

    @cached_property
    def counter_window(self) -> Window:
        """What this database's table, index and database counters cover.

        Between the two snapshots when the baseline has table counters (the sidecar's
        first cycles may not yet) and the database's statistics were not reset in between;
        otherwise since `pg_stat_database.stats_reset`. On 15+ that is null until someone
        resets them, and the counters then run from initdb, the
        database's creation or the last crash: a database created since the server started
        dates them (where pgsage may read its PG_VERSION file); after a crash PostgreSQL
        also resets the shared statistics (bgwriter/checkpointer) as recovery ends, which
        dates it; without either the start is unknown.
        """
        db = self.database
        reset = db.stats_reset if db is not None else None
        if self.baseline is not None and "tables" in self.baseline.data:
            before = self.baseline.one("database", DatabaseStats)
            if before is None or before.stats_reset == reset:
                return Window(self.baseline.taken_at, self.snapshot.taken_at,
                              "between-snapshots")
        if reset is not None:
            return self._since_reset(reset, "this database's statistics were last reset")
        created = db.created_at if db is not None else None
        if created is not None and self.server is not None and \
                created >= self.server.started_at:
            # Created since the server started, which has not restarted since: its counters
            # began with it (whatever the server's own start without saved statistics).
            return self._since_reset(created, "this database was created")
        crash = self._crash_recovery_end()
        if crash is not None:
            return self._since_reset(crash, "the server started without saved statistics "
                                            "(after a crash or initdb)")
        return self._since_reset(None, "this database's statistics started counting (never "
                                       "reset)")

    def _since_reset(self, start: float | None, since: str) -> Window:
        if self.rates_need_baseline:
            return Window(None, self.snapshot.taken_at, "since-reset", since, warming_up=True)
        return Window(start, self.snapshot.taken_at, "since-reset", since)

    def _crash_recovery_end(self) -> float | None:
        """When the server last started without saved statistics (after a crash, or its
        first start after initdb), if it did: PostgreSQL 15+ then resets every shared
        statistics family (bgwriter, WAL, archiver) with one and the same timestamp while
        the server starts, and the database counters begin from nothing at that start. A
        person's pg_stat_reset_shared() resets one family, never all to one microsecond."""
        if self.server is None or self.bgwriter is None or self.wal is None:
            return None
        resets = {self.bgwriter.stats_reset, self.wal.stats_reset,
                  self.archiver.stats_reset if self.archiver is not None else None}
        resets.discard(None)
        started = self.server.started_at
        if len(resets) == 1 and self.bgwriter.stats_reset is not None and \
                self.wal.stats_reset is not None and \
                started <= self.bgwriter.stats_reset <= started + CRASH_RESET_SLACK_S:
            return started
        return None

    def shared_window(self, reset: float | None, name: str, collector: str) -> Window:
        """The window of a server-wide counter family (bgwriter, WAL, archiver) that has a
        reset time of its own: between the snapshots when the baseline read its `collector`
        too, or since that reset."""
        if self.baseline is not None and collector in self.baseline.data:
            return Window(self.baseline.taken_at, self.snapshot.taken_at, "between-snapshots")
        return self._since_reset(reset, f"{name} statistics were last reset")

    @cached_property
    def snapshots_window(self) -> Window | None:
        """The time between the baseline and this snapshot, for what has no reset time of its
        own and moves by itself (a sequence's last_value, a key column's max, sizes)."""
        if self.baseline is None:
            return None
        return Window(self.baseline.taken_at, self.snapshot.taken_at, "between-snapshots")

    @cached_property
    def windows(self) -> dict[str, Window]:
        """Every counter family's window, for the report (`window.families` in JSON)."""
        out = {"statements": self.window, "tables": self.counter_window}
        if self.bgwriter is not None:
            out["bgwriter"] = self.shared_window(self.bgwriter.stats_reset, "bgwriter",
                                                 "bgwriter")
            if self.bgwriter.checkpointer_stats_reset is not None:
                out["checkpointer"] = self.shared_window(
                    self.bgwriter.checkpointer_stats_reset, "checkpointer", "bgwriter")
        if self.wal is not None:
            out["wal"] = self.shared_window(self.wal.stats_reset, "WAL", "wal")
        if self.archiver is not None:
            out["archiver"] = self.shared_window(self.archiver.stats_reset, "archiver", "archiver")
        return out

    @cached_property
    def same_window(self) -> bool:
        """Statement and table counters cover the same time, so one may be weighed against
        the other (reads from pg_stat_statements against writes from pg_stat_user_tables)."""
        a, b = self.window, self.counter_window
        if not (a.known and b.known):
            return False
        assert a.start is not None and b.start is not None
        if a.kind == b.kind == "between-snapshots":
            return True
        # Both starts are server timestamps to the microsecond: resets issued together are
        # milliseconds apart, and whatever ran between two starts further apart (a bulk load
        # between the resets) is in one family only, however short the gap.
        return abs(a.start - b.start) <= SAME_START_S

    @cached_property
    def _baseline_tables(self) -> dict[int, TableStats]:
        if self.baseline is None:
            return {}
        return {t.relid: t for t in self.baseline.rows("tables", TableStats)}

    def table_counter(self, relid: int, name: str) -> int | None:
        """A pg_stat_user_tables counter over `counter_window`; None when unknown.

        With a baseline, a table absent from it or whose counter went down (a reset in
        between) gives its current total, the best estimate of what happened since.
        """
        table = self.tables.get(relid)
        now = getattr(table, name, None) if table is not None else None
        if now is None:
            return None
        if self.counter_window.kind != "between-snapshots":
            return int(now)
        before_table = self._baseline_tables.get(relid)
        return _counted_since(now, getattr(before_table, name, None))

    @cached_property
    def baseline_indexes(self) -> dict[int, IndexStats]:
        """The baseline's indexes by indexrelid; empty without a baseline."""
        if self.baseline is None:
            return {}
        return {i.indexrelid: i for i in self.baseline.rows("indexes", IndexStats)}

    def index_counter(self, ix: IndexStats, name: str) -> int | None:
        """A pg_stat_user_indexes counter over `counter_window`; None when unknown (an index
        absent from the baseline, or whose counter went down, gives its current total)."""
        now = getattr(ix, name, None)
        if now is None:
            return None
        return _counted_since(now, getattr(self.baseline_indexes.get(ix.indexrelid), name, None))

    def table_counter_over_window(self, relid: int, name: str) -> float | None:
        """A table counter over the statements' window, or None where the two families of
        counters cover different times (a bulk load before a pg_stat_statements reset must
        not be weighed against a few hours of reads)."""
        if not self.same_window:
            return None
        value = self.table_counter(relid, name)
        return float(value) if value is not None else None

    @cached_property
    def catalog(self) -> Catalog:
        """Name resolution for the workload model: tables, their columns, the search_path."""
        if self.derived is not None:
            return self.derived.catalog
        refs = {(t.schema, t.name): TableRef(t.relid, t.schema, t.name)
                for t in self.tables.values()}
        columns: dict[int, list[str]] = {}
        for col in self.columns:
            columns.setdefault(col.relid, []).append(col.name)
        path = self.setting("search_path") or '"$user", public'
        search_path = tuple(p.strip().strip('"') for p in path.split(",") if p.strip())
        views = {(r.schema, r.name): r.definition for r in self.relations
                 if r.relkind == "v" and r.definition}
        return Catalog(refs, columns, search_path, views)

    @cached_property
    def workload(self) -> Workload:
        """Every statement of the window with a known text, parsed once (pgsage's own out)."""
        if self.derived is not None:
            return self.derived.workload
        parsed = self._parsed_workload
        own = self.own_queryids
        if not own:
            return parsed
        return dataclasses.replace(
            parsed, statements={q: st for q, st in parsed.statements.items() if q not in own})

    @cached_property
    def _parsed_workload(self) -> Workload:
        frame = self._collected_statements
        if frame.empty:
            return Workload()
        texts: dict[int, str] = {}
        users: dict[int, str] = {}
        for queryid, username in zip(frame["queryid"], frame.get("username", []), strict=False):
            text = self.statement_text(int(queryid))
            if text is not None:
                texts[int(queryid)] = text
                if isinstance(username, str):
                    users[int(queryid)] = username
        return build_workload(texts, self.catalog, users)

    def derive(self) -> Derived:
        """This model's derived values, for a later model over the same inputs."""
        return Derived(self.statements, self.catalog, self.workload)


def _counted_since(now: float, before: float | None) -> int:
    """What a cumulative counter counted since the baseline read `before`: all of it when
    the baseline has no value or the counter went down (a reset in between)."""
    return int(now) if before is None or before > now else int(now - before)


def _statements_frame(snapshot: Snapshot) -> pd.DataFrame:
    rows = snapshot.rows("statements", StatementStats)
    if not rows:
        return pd.DataFrame(columns=[*STATEMENT_KEY, *STATEMENT_COUNTERS, "mean_exec_time",
                                     "username"])
    names = [f.name for f in dataclasses.fields(StatementStats) if f.name != "query"]
    return pd.DataFrame([{n: getattr(r, n) for n in names} for r in rows])
