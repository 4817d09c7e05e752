"""A target's workload as metric rows: from its snapshots, model and report, never the database.

Per-object series are bounded: statements by `metrics.top_n`, tables and indexes by
`metrics.top_tables` / `metrics.top_indexes`, recommendations by `metrics.top_recommendations`,
each with stable membership (`analyzer.sidecar.topn`). Counters are the server's cumulative
values (Prometheus computes rates and handles resets); rankings use deltas over the window
so a statement that was busy last month does not hold a slot forever.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pgsage.analyzer.model.findings import Recommendation
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.sidecar.metrics import Rows
from pgsage.analyzer.sidecar.settings import MetricsConfig
from pgsage.analyzer.sidecar.topn import Membership
from pgsage.collectors.activity import Backend
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.databases import Database
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.server import Server
from pgsage.collectors.settings import Setting
from pgsage.collectors.statements import StatementStats
from pgsage.collectors.statements_info import StatementsInfoStats
from pgsage.collectors.tables import TableStats

STATES = ("active", "idle", "idle in transaction", "idle in transaction (aborted)",
          "fastpath function call", "disabled")
"""Always exported for every database seen, so a state that empties shows 0, not a gap."""

StatementKey = tuple[int, int, bool, int]


@dataclass
class Memberships:
    """One target's stable top-N sets; updated by the analysis after each cycle."""

    statements: Membership[StatementKey]
    tables_by_seq: Membership[int]
    tables_by_dead: Membership[int]
    indexes_by_size: Membership[int]
    indexes_by_scans: Membership[int]
    recommendations: int = 50

    @classmethod
    def of(cls, config: MetricsConfig) -> Memberships:
        return cls(Membership(config.top_n), Membership(config.top_tables),
                   Membership(config.top_tables), Membership(config.top_indexes),
                   Membership(config.top_indexes), config.top_recommendations)

    def resize(self, config: MetricsConfig) -> None:
        self.statements.n = config.top_n
        self.tables_by_seq.n = self.tables_by_dead.n = config.top_tables
        self.indexes_by_size.n = self.indexes_by_scans.n = config.top_indexes
        self.recommendations = config.top_recommendations


@dataclass
class _Rows:
    target: str
    rows: Rows = field(default_factory=lambda: defaultdict(list))

    def add(self, name: str, labels: Iterable[str], value: float | int | None) -> None:
        if value is None:
            return
        self.rows[name].append(((self.target, *labels), float(value)))


def _delta(now: int | float | None, before: int | float | None) -> float:
    """Growth of a counter; a counter that went down was reset, so its value is the growth."""
    if now is None:
        return 0.0
    if before is None or now < before:
        return float(now)
    return float(now - before)


def statement_ranking(current: Snapshot, baseline: Snapshot | None) -> list[StatementKey]:
    """Statements by execution time over the window, most first (plain Python: a pandas
    merge per cycle would cost more than everything else the metrics need).

    An entry absent from the baseline, or whose calls went down (reset, evicted and
    entered again), counts with its current total, as the model counts it.
    """
    before: dict[StatementKey, StatementStats] = {}
    if baseline is not None:
        before = {_key(s): s for s in baseline.rows("statements", StatementStats)}
    deltas: list[tuple[float, StatementKey]] = []
    for s in current.rows("statements", StatementStats):
        key = _key(s)
        old = before.get(key)
        if old is None or s.calls < old.calls:
            delta = s.total_exec_time
        else:
            delta = max(s.total_exec_time - old.total_exec_time, 0.0)
        deltas.append((delta, key))
    deltas.sort(key=lambda d: -d[0])
    return [key for _, key in deltas]


def _key(s: StatementStats) -> StatementKey:
    return (s.userid, s.dbid, s.toplevel, s.queryid)


def statement_rows(out: _Rows, current: Snapshot, order: list[StatementKey],
                   members: Membership[StatementKey], database: str, block: int) -> None:
    stats = current.rows("statements", StatementStats)
    out.add("pgsage_statements_tracked", (), len(stats) if current.data.get("statements")
            is not None else None)
    info = current.one("statements_info", StatementsInfoStats)
    if info is not None:
        out.add("pgsage_statements_evicted", (), info.dealloc)
    if not stats:
        members.update([])
        return
    chosen = members.update(order)
    out.add("pgsage_statements_exported", (), sum(
        1 for s in stats if (s.userid, s.dbid, s.toplevel, s.queryid) in chosen))
    for s in stats:
        if (s.userid, s.dbid, s.toplevel, s.queryid) not in chosen:
            continue
        labels = (database, s.username or str(s.userid), str(s.queryid),
                  "true" if s.toplevel else "false")
        out.add("pgsage_statement_calls", labels, s.calls)
        out.add("pgsage_statement_exec_seconds", labels, s.total_exec_time / 1000)
        out.add("pgsage_statement_plan_seconds", labels, s.total_plan_time / 1000)
        out.add("pgsage_statement_rows", labels, s.rows)
        out.add("pgsage_statement_shared_hit_bytes", labels, s.shared_blks_hit * block)
        out.add("pgsage_statement_shared_read_bytes", labels, s.shared_blks_read * block)
        out.add("pgsage_statement_temp_read_bytes", labels, s.temp_blks_read * block)
        out.add("pgsage_statement_temp_written_bytes", labels, s.temp_blks_written * block)


def database_rows(out: _Rows, current: Snapshot, baseline: Snapshot | None, block: int) -> None:
    db = current.one("database", DatabaseStats)
    if db is not None:
        labels = (db.datname,)
        out.add("pgsage_database_transactions", (*labels, "commit"), db.xact_commit)
        out.add("pgsage_database_transactions", (*labels, "rollback"), db.xact_rollback)
        out.add("pgsage_database_shared_hit_bytes", labels, db.blks_hit * block)
        out.add("pgsage_database_shared_read_bytes", labels, db.blks_read * block)
        out.add("pgsage_database_temp_bytes", labels, db.temp_bytes)
        out.add("pgsage_database_temp_files", labels, db.temp_files)
        out.add("pgsage_database_deadlocks", labels, db.deadlocks)
        before = baseline.one("database", DatabaseStats) if baseline is not None else None
        hit = _delta(db.blks_hit, before.blks_hit if before else 0)
        read = _delta(db.blks_read, before.blks_read if before else 0)
        if hit + read > 0:
            out.add("pgsage_database_cache_hit_ratio", labels, hit / (hit + read))
    for age in current.rows("databases", Database):
        out.add("pgsage_database_xid_age", (age.datname,), age.frozenxid_age)
        out.add("pgsage_database_mxid_age", (age.datname,), age.minmxid_age)
        out.add("pgsage_database_size_bytes", (age.datname,), age.bytes)
    if current.data.get("activity") is None:
        return
    backends = current.rows("activity", Backend)
    counts: Counter[tuple[str, str]] = Counter()
    oldest: dict[str, float] = {}
    xmin: dict[str, float] = {}
    names = {b.datname for b in backends if b.datname}
    if db is not None:
        names.add(db.datname)
    for b in backends:
        if not b.datname:
            continue
        if b.backend_type == "client backend":
            counts[(b.datname, b.state or "unknown")] += 1
        if b.xact_start_age is not None:
            oldest[b.datname] = max(oldest.get(b.datname, 0.0), b.xact_start_age)
        if b.backend_xmin_age is not None:
            xmin[b.datname] = max(xmin.get(b.datname, 0.0), float(b.backend_xmin_age))
    for name in sorted(names):
        for state in STATES:
            counts.setdefault((name, state), 0)
        out.add("pgsage_database_oldest_transaction_age_seconds", (name,), oldest.get(name, 0.0))
        out.add("pgsage_database_oldest_xmin_age", (name,), xmin.get(name, 0.0))
    for (name, state), count in sorted(counts.items()):
        out.add("pgsage_database_connections", (name, state), count)


def server_rows(out: _Rows, current: Snapshot) -> None:
    server = current.one("server", Server)
    if server is not None:
        out.add("pgsage_server_info", (server.version.split(" on ")[0].split(",")[0],
                                       str(server.server_version_num)), 1)
        out.add("pgsage_server_start_time_seconds", (), server.started_at)
        out.add("pgsage_in_recovery", (), int(server.in_recovery))
        out.add("pgsage_role_has_pg_monitor", (),
                int(bool(server.has_pg_monitor or server.is_superuser)))
    settings = {s.name: s for s in current.rows("settings", Setting)}
    for name in ("max_connections", "autovacuum_freeze_max_age"):
        setting = settings.get(name)
        if setting is not None and setting.setting is not None:
            try:
                out.add(f"pgsage_setting_{name}", (), float(setting.setting))
            except ValueError:
                continue


def table_rows(out: _Rows, current: Snapshot, baseline: Snapshot | None,
               memberships: Memberships) -> None:
    tables = [t for t in current.rows("tables", TableStats) if t.relkind in ("r", "m", "p")]
    before = {t.relid: t for t in baseline.rows("tables", TableStats)} if baseline else {}
    by_seq = sorted(tables, key=lambda t: -_delta(t.seq_tup_read, getattr(
        before.get(t.relid), "seq_tup_read", None)))
    by_dead = sorted(tables, key=lambda t: -(t.n_dead_tup or 0))
    chosen = (memberships.tables_by_seq.update([t.relid for t in by_seq if t.seq_scan])
              | memberships.tables_by_dead.update([t.relid for t in by_dead if t.n_dead_tup]))
    for t in tables:
        if t.relid not in chosen:
            continue
        labels = (t.schema, t.name)
        out.add("pgsage_table_seq_scans", labels, t.seq_scan)
        out.add("pgsage_table_seq_tuples_read", labels, t.seq_tup_read)
        out.add("pgsage_table_index_scans", labels, t.idx_scan)
        out.add("pgsage_table_live_tuples", labels, t.n_live_tup)
        out.add("pgsage_table_dead_tuples", labels, t.n_dead_tup)
        out.add("pgsage_table_size_bytes", labels, t.table_bytes)
        out.add("pgsage_table_last_autovacuum_timestamp_seconds", labels, t.last_autovacuum)
    indexes = current.rows("indexes", IndexStats)
    before_ix = ({i.indexrelid: i for i in baseline.rows("indexes", IndexStats)}
                 if baseline else {})
    by_size = sorted(indexes, key=lambda i: -(i.bytes or 0))
    by_scans = sorted(indexes, key=lambda i: -_delta(i.idx_scan, getattr(
        before_ix.get(i.indexrelid), "idx_scan", None)))
    chosen = (memberships.indexes_by_size.update([i.indexrelid for i in by_size])
              | memberships.indexes_by_scans.update([i.indexrelid for i in by_scans
                                                     if i.idx_scan]))
    for i in indexes:
        if i.indexrelid in chosen:
            names = (i.schema, i.table, i.name)
            out.add("pgsage_index_scans", names, i.idx_scan)
            out.add("pgsage_index_size_bytes", names, i.bytes)


def recommendation_id(r: Recommendation) -> str:
    """Stable while the recommendation is the same: rule, object and action."""
    key = json.dumps([r.rule, r.object.to_json(), r.action.to_json() if r.action else None,
                      r.title if r.action is None else ""], sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _object_label(r: Recommendation) -> str:
    parts = [p for p in (r.object.schema, r.object.table, r.object.index) if p]
    name = ".".join(parts)
    if r.object.columns:
        name += f"({', '.join(r.object.columns)})"
    return name


def advice_rows(out: _Rows, recommendations: list[Recommendation], top: int) -> None:
    findings: Counter[tuple[str, str, str]] = Counter(
        (r.rule, r.category.value, r.severity.value) for r in recommendations)
    for (rule, category, severity), count in sorted(findings.items()):
        out.add("pgsage_findings", (rule, category, severity), count)
    seen: set[str] = set()
    for r in recommendations[:top]:
        rid = recommendation_id(r)
        if rid in seen:
            continue
        seen.add(rid)
        out.add("pgsage_recommendation_benefit",
                (rid, r.rule, r.category.value, r.severity.value, _object_label(r)), r.benefit)


def workload_rows(target: str, current: Snapshot, baseline: Snapshot | None,
                  recommendations: list[Recommendation] | None,
                  memberships: Memberships) -> Rows:
    """Every snapshot-derived family for one target."""
    out = _Rows(target)
    server = current.one("server", Server)
    block = server.block_size if server is not None else 8192
    database = current.target.database or ""
    server_rows(out, current)
    database_rows(out, current, baseline, block)
    statement_rows(out, current, statement_ranking(current, baseline), memberships.statements,
                   database, block)
    table_rows(out, current, baseline, memberships)
    if recommendations is not None:
        advice_rows(out, recommendations, memberships.recommendations)
    return dict(out.rows)


def failed_queryids(model: Any) -> list[int]:
    """Queryids the workload model could not parse, if the rules built it."""
    workload = model.__dict__.get("workload") if hasattr(model, "__dict__") else None
    return list(getattr(workload, "failed_queryids", []) or [])
