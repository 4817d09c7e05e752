"""The rolling window of one target: each collector's recent records, and counter resets.

Collectors run on different schedules, so the window keeps a short history *per collector*
(successful runs only). The current snapshot merges each collector's latest records; the
baseline merges each collector's oldest records still inside the window. Rules read
`Model(current, baseline)`, so their rates are over (about) the window length.

Counter resets never turn into negative or absurd rates:

- a server restart (the postmaster start time changed) clears every history;
- `pg_stat_statements_reset()` (pg_stat_statements_info.stats_reset moved) clears the
  statements history from before the reset;
- `pg_stat_reset()` (pg_stat_database.stats_reset moved) clears the database, table and
  index histories from before it;
- a statement evicted and entered again: on PostgreSQL 17+ its `stats_since` changed, so
  its baseline record is dropped and the model counts it as new; before 17 the model sees
  its calls go down and counts its current value (never a negative difference).

The rules wait until the statements and tables collectors have two runs in the window
(`warming_up()`; after a reset too, when the last findings stand meanwhile), so the first
cycles raise no finding from totals since the last reset that a measured window would
withdraw. Other families still without a baseline give no rate (`Model.rates_need_baseline`):
their window reads "warming up".
Histories are thinned so consecutive entries are at least length/slots apart: memory stays
bounded (about `slots` copies of each collector) whatever the intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pgsage.analyzer.model.snapshot import CollectorStatus, Snapshot, Target
from pgsage.analyzer.sidecar.runner import Boot, CollectorResult
from pgsage.collectors import REGISTRY
from pgsage.collectors.base import DERIVED_CUMULATIVE
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.statements import StatementStats
from pgsage.collectors.statements_info import StatementsInfoStats

HISTORY = frozenset({name for name, c in REGISTRY.items() if c.cumulative} | DERIVED_CUMULATIVE)
"""Collectors whose older records a baseline needs (each declares it: `cumulative`).
The others (columns, settings, roles...) keep only their latest records, which is most of
the memory a window would otherwise take."""

ANCHORS = ("statements", "tables", "database")
"""The first of these with a baseline sets both snapshots' times: statement rates are the
ones rules lean on most, so their window is exact and the others' is within one interval."""

MEASURED_BEFORE_RULES = ("statements", "tables")
"""Collectors whose counters the rules weigh: the rules run once each has two snapshots."""

STATEMENT_COLLECTORS = ("statements", "statements_info")
RELATION_COLLECTORS = ("database", "tables", "indexes")


@dataclass(frozen=True, slots=True)
class Entry:
    taken_at: float
    records: list[Any]


def _stats_reset(records: list[Any], record: type[Any]) -> float | None:
    for r in records:
        if isinstance(r, record):
            value = r.stats_reset
            return float(value) if value is not None else None
    return None


class Window:
    def __init__(self, length: float, slots: int = 5) -> None:
        self.length = length
        self.slots = slots
        self.step = length / slots
        self.history: dict[str, list[Entry]] = {}
        self.status: dict[str, CollectorStatus] = {}
        self.started_at: float | None = None
        self.target: Target | None = None
        self.resets: dict[str, int] = {"restart": 0, "statements": 0, "database": 0}
        self._filtered: tuple[Entry, Entry, list[Any]] | None = None

    # --- adding a run ------------------------------------------------------------------
    def add(self, boot: Boot, results: Mapping[str, CollectorResult], host: str | None,
            now: float) -> list[str]:
        """Record one run; returns what was reset, in words, for the log."""
        notes: list[str] = []
        if self.started_at is not None and abs(boot.started_at - self.started_at) > 0.001:
            self.history.clear()
            self.resets["restart"] += 1
            notes.append("the server restarted: the window starts again")
        self.started_at = boot.started_at
        self.target = Target(database=boot.database, host=host, port=boot.port,
                             server_version_num=boot.server_version_num)
        status = dict(self.status)
        for name, result in results.items():  # resets first: this run's records are after them
            if result.status.ok and result.records is not None:
                notes.extend(self._detect_reset(name, result.records))
        for name, result in results.items():
            status[name] = result.status
            if result.status.ok and result.records is not None:
                self._append(name, Entry(result.finished_at or now, result.records))
        self.status = status
        self._prune(now)
        return notes

    def _detect_reset(self, name: str, records: list[Any]) -> list[str]:
        record: type[Any]
        cleared: tuple[str, ...]
        if name == "statements_info":
            record, cleared, kind = StatementsInfoStats, STATEMENT_COLLECTORS, "statements"
            what = "pg_stat_statements was reset"
        elif name == "database":
            record, cleared, kind = DatabaseStats, RELATION_COLLECTORS, "database"
            what = "the database's statistics were reset (pg_stat_reset)"
        else:
            return []
        before = self.history.get(name)
        if not before:
            return []
        old, new = _stats_reset(before[-1].records, record), _stats_reset(records, record)
        if new is None or old == new:
            return []
        for collector in cleared:
            # Drop what was read before the reset (records of this run are added after).
            self.history[collector] = [e for e in self.history.get(collector, [])
                                       if e.taken_at >= new]
        self.resets[kind] += 1
        return [f"{what}: its counters start again"]

    def _append(self, name: str, entry: Entry) -> None:
        entries = self.history.setdefault(name, [])
        if name not in HISTORY:
            entries[:] = [entry]
            return
        if len(entries) >= 2 and entries[-1].taken_at - entries[-2].taken_at < self.step:
            entries.pop()
        entries.append(entry)

    def _prune(self, now: float) -> None:
        cutoff = now - self.length
        for name, entries in self.history.items():
            kept = [e for e in entries if e.taken_at >= cutoff]
            self.history[name] = kept or entries[-1:]

    # --- reading -----------------------------------------------------------------------
    def _anchor(self) -> str | None:
        for name in ANCHORS:
            if len(self.history.get(name, ())) >= 2:
                return name
        return None

    def current(self) -> Snapshot | None:
        """Each collector's latest records (only where its latest run succeeded)."""
        if self.target is None:
            return None
        data = {name: entries[-1].records for name, entries in self.history.items()
                if entries and self.status.get(name, CollectorStatus(ok=False)).ok}
        anchor = self._anchor()
        if anchor is not None:
            taken_at = self.history[anchor][-1].taken_at
        else:
            taken_at = max((e[-1].taken_at for e in self.history.values() if e), default=0.0)
        return Snapshot(taken_at=taken_at, target=self.target, status=dict(self.status),
                        data=data)

    def baseline(self) -> Snapshot | None:
        """Each collector's oldest records in the window; None until the anchor has two."""
        anchor = self._anchor()
        if anchor is None or self.target is None:
            return None
        data: dict[str, list[Any]] = {}
        status: dict[str, CollectorStatus] = {}
        for name, entries in self.history.items():
            if len(entries) < 2:
                continue
            records = entries[0].records
            if name == "statements":
                records = self._baseline_statements(entries[0], entries[-1])
            data[name] = records
            status[name] = CollectorStatus(ok=True, rows=len(records))
        return Snapshot(taken_at=self.history[anchor][0].taken_at, target=self.target,
                        status=status, data=data)

    def _baseline_statements(self, first: Entry, last: Entry) -> list[Any]:
        """Filtered once per pair of entries, so unchanged inputs stay the same objects."""
        cached = self._filtered
        if cached is None or cached[0] is not first or cached[1] is not last:
            cached = (first, last, _without_recreated(first.records, last.records))
            self._filtered = cached
        return cached[2]

    def warming_up(self) -> list[str]:
        """The collectors rules lean on (statements, tables) that work but have no second
        run in the window yet: until they do, the rules wait rather than judge the
        workload by totals since the last reset, which a measured window may contradict."""
        return [name for name in MEASURED_BEFORE_RULES
                if self.status.get(name, CollectorStatus(ok=False)).ok
                and len(self.history.get(name, ())) < 2]

    @property
    def seconds(self) -> float:
        """How much time the window covers now (0 without a baseline)."""
        anchor = self._anchor()
        if anchor is None:
            return 0.0
        entries = self.history[anchor]
        return entries[-1].taken_at - entries[0].taken_at


def statement_key(s: StatementStats) -> tuple[int, int, bool, int]:
    return (s.userid, s.dbid, s.toplevel, s.queryid)


def _without_recreated(before: list[Any], now: list[Any]) -> list[Any]:
    """Baseline statements minus entries evicted and entered again since (PG 17+).

    `stats_since` is when an entry was created; if it moved, the old counters belong to a
    previous life of the entry and subtracting them would undercount (or go negative).
    """
    since = {statement_key(s): s.stats_since for s in now if isinstance(s, StatementStats)}
    return [s for s in before
            if not (isinstance(s, StatementStats) and s.stats_since is not None
                    and since.get(statement_key(s)) not in (None, s.stats_since))]
