"""The model rules read: one snapshot (and optionally an older one), indexed and with rates.

Rules never see SQL rows or connections; they see this. Counters become deltas over the
window between two snapshots when a baseline exists, or totals since the last statistics
reset otherwise; the window says which, so every finding can state what it measured.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from analyzer.host import HostSpec
from analyzer.snapshot import Snapshot
from collectors.activity import Backend
from collectors.archiver import ArchiverStats
from collectors.constraints import Constraint
from collectors.database import DatabaseAge, DatabaseStats
from collectors.extensions import Extension
from collectors.hba import HbaRule
from collectors.indexes import IndexStats
from collectors.key_ranges import KeyRange
from collectors.namespaces import Namespace
from collectors.plans import PlanRecord
from collectors.redact import redact
from collectors.replication import PreparedXact, Replica, ReplicationSlot
from collectors.roles import Role
from collectors.row_security import RowSecurity
from collectors.sequences import SequenceState
from collectors.server import ServerInfo
from collectors.settings import Setting
from collectors.statements import StatementsInfo, StatementStats
from collectors.tables import TableStats
from collectors.wal import WalStats

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


@dataclass(frozen=True, slots=True)
class Window:
    """What the counters in this model cover."""

    start: float
    end: float
    kind: str
    """`between-snapshots` (a baseline was given) or `since-reset` (cumulative counters)."""

    @property
    def seconds(self) -> float:
        return max(self.end - self.start, 0.0)

    def describe(self) -> str:
        hours = self.seconds / 3600
        span = f"{hours:.1f} h" if hours >= 1 else f"{self.seconds / 60:.1f} min"
        if self.kind == "between-snapshots":
            return f"the {span} between two snapshots"
        return f"the {span} since statistics were last reset"


@dataclass
class Model:
    snapshot: Snapshot
    baseline: Snapshot | None = None
    query_texts: Mapping[int, str] = field(default_factory=dict)
    """Texts known from elsewhere (the sidecar's cache), by queryid."""
    host: HostSpec = field(default_factory=HostSpec)
    """RAM, CPUs and storage of the host as the user gave them (the rest is assumed)."""

    # --- raw records -------------------------------------------------------------------
    @cached_property
    def server(self) -> ServerInfo | None:
        return self.snapshot.one("server", ServerInfo)

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
    def constraints(self) -> list[Constraint]:
        return self.snapshot.rows("constraints", Constraint)

    @cached_property
    def sequences(self) -> list[SequenceState]:
        return self.snapshot.rows("sequences", SequenceState)

    @cached_property
    def statements_info(self) -> StatementsInfo | None:
        return self.snapshot.one("statements_info", StatementsInfo)

    # --- server-wide state: activity, WAL, archiving, replication, roles, access ------------
    @cached_property
    def database(self) -> DatabaseStats | None:
        return self.snapshot.one("database", DatabaseStats)

    @cached_property
    def databases(self) -> list[DatabaseAge]:
        return self.snapshot.rows("databases", DatabaseAge)

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
    def row_security(self) -> dict[int, RowSecurity]:
        return {r.relid: r for r in self.snapshot.rows("row_security", RowSecurity)}

    @cached_property
    def key_ranges(self) -> list[KeyRange]:
        return self.snapshot.rows("key_ranges", KeyRange)

    @cached_property
    def plans(self) -> dict[int, PlanRecord]:
        """Generic plans of the top statements by queryid (`analyzer.plans`); may be empty."""
        return {p.queryid: p for p in self.snapshot.rows("plans", PlanRecord)}

    @cached_property
    def baseline_plans(self) -> dict[int, PlanRecord]:
        """The baseline snapshot's plans by queryid (empty without a baseline or plans)."""
        if self.baseline is None:
            return {}
        return {p.queryid: p for p in self.baseline.rows("plans", PlanRecord)}

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

    # --- window and statements ----------------------------------------------------------
    @cached_property
    def window(self) -> Window:
        if self.baseline is not None:
            return Window(self.baseline.taken_at, self.snapshot.taken_at, "between-snapshots")
        starts = []
        if self.statements_info and self.statements_info.stats_reset:
            starts.append(self.statements_info.stats_reset)
        if self.server:
            starts.append(self.server.started_at)
        start = max(starts) if starts else self.snapshot.taken_at
        return Window(start, self.snapshot.taken_at, "since-reset")

    @cached_property
    def statements(self) -> pd.DataFrame:
        """Statement counters over the window, one row per (user, db, toplevel, queryid).

        With a baseline: the difference of each counter. An entry whose calls went down was
        reset or evicted and re-entered in between, so its current value is the best estimate;
        an entry absent from the baseline is new and counts whole. Never negative.
        """
        current = _statements_frame(self.snapshot)
        if current.empty or self.baseline is None:
            return current
        before = _statements_frame(self.baseline)
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
            for s in snap.rows("statements", StatementStats):
                if s.query is not None:
                    out[s.queryid] = redact(s.query)
        return out

    # --- helpers rules share ------------------------------------------------------------
    def table(self, relid: int) -> TableStats | None:
        return self.tables.get(relid)

    def table_rate(self, relid: int, counter: str) -> float | None:
        """Per-second rate of a table counter over the window (needs a baseline)."""
        if self.baseline is None:
            return None
        now = self.tables.get(relid)
        before = {t.relid: t for t in self.baseline.rows("tables", TableStats)}.get(relid)
        if now is None or before is None or self.window.seconds <= 0:
            return None
        a, b = getattr(before, counter), getattr(now, counter)
        if a is None or b is None or b < a:
            return None
        return float(b - a) / self.window.seconds


def _statements_frame(snapshot: Snapshot) -> pd.DataFrame:
    rows = snapshot.rows("statements", StatementStats)
    if not rows:
        return pd.DataFrame(columns=[*STATEMENT_KEY, *STATEMENT_COUNTERS, "mean_exec_time",
                                     "username"])
    frame = pd.DataFrame([{f: getattr(r, f) for f in r.__slots__ if f != "query"}
                          for r in rows])
    return frame
