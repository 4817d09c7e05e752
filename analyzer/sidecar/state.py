"""What the sidecar knows about one target, and its health as metric rows.

The event loop is the only writer. The HTTP thread only reads, and only references that are
replaced whole (`published`, `report_json`, the `collectors` map), so it never sees a
half-updated structure and never waits for a job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pgsage.analyzer.model.findings import Recommendation
from pgsage.analyzer.sidecar.analysis import ModelCache
from pgsage.analyzer.sidecar.metrics import Published, Rows
from pgsage.analyzer.sidecar.runner import CollectorResult
from pgsage.analyzer.sidecar.samples import Memberships
from pgsage.analyzer.sidecar.session import AsyncSession
from pgsage.analyzer.sidecar.settings import SidecarConfig, TargetConfig
from pgsage.analyzer.sidecar.window import Window


@dataclass
class GroupStats:
    runs: int = 0
    failures: int = 0
    overruns: int = 0
    last_seconds: float | None = None
    last_ok: bool = False


@dataclass
class TargetState:
    config: TargetConfig
    window: Window
    memberships: Memberships
    session: AsyncSession | None = None
    texts: dict[int, str] = field(default_factory=dict)
    """Query texts by queryid: fetched once per new queryid, pruned to live entries."""
    collectors: dict[str, CollectorResult] = field(default_factory=dict)
    last_success: dict[str, float] = field(default_factory=dict)
    groups: dict[str, GroupStats] = field(default_factory=dict)
    last_good_cycle: float | None = None
    parse_failed: set[int] = field(default_factory=set)
    analysis_seconds: float | None = None
    analysis_at: float | None = None
    report_json: bytes | None = None
    """The report contract for GET /recommendations, serialised when it was made."""
    health: Published = field(default_factory=Published)
    workload: Published = field(default_factory=Published)
    logged: dict[str, str] = field(default_factory=dict)
    """Collector -> the persistent failure reason already logged (logged once)."""
    down_logged: str | None = None
    """The connection failure already logged (each new reason is logged once)."""
    model_cache: ModelCache = field(default_factory=ModelCache)
    recommendations: list[Recommendation] | None = None
    """The last rules pass's findings (their metrics are re-exported between passes)."""
    rules_seconds: float | None = None
    rules_not_before: float = 0.0
    """Monotonic time before which no rules pass starts (the CPU budget)."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One job at a time on the target's one connection."""

    @classmethod
    def of(cls, config: TargetConfig, sidecar: SidecarConfig) -> TargetState:
        return cls(config, Window(sidecar.window_length), Memberships.of(sidecar.metrics),
                   groups={g.name: GroupStats() for g in sidecar.groups})

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def up(self) -> bool:
        return self.session is not None and self.session.up

    def record(self, results: Mapping[str, CollectorResult], now: float) -> None:
        """The latest result of each collector (the map is replaced, never mutated)."""
        collectors = dict(self.collectors)
        for name, result in results.items():
            collectors[name] = result
            if result.status.ok:
                self.last_success[name] = result.finished_at or now
        self.collectors = collectors

    def status(self, now: float, stale_after: float) -> dict[str, Any]:
        """This target's part of /readyz."""
        ready = (self.up and self.last_good_cycle is not None
                 and now - self.last_good_cycle <= stale_after)
        doc: dict[str, Any] = {"ready": ready, "up": self.up,
                               "last_good_cycle": self.last_good_cycle}
        if not self.up and self.session is not None:
            doc["reason"] = self.session.down_reason or "the connection is closed"
        elif self.last_good_cycle is None:
            doc["reason"] = "no cycle has reached the target yet"
        elif not ready:
            doc["reason"] = f"stale: no good cycle for {now - self.last_good_cycle:.0f} s"
        return doc


def health_rows(state: TargetState) -> Rows:
    """pgsage's own view of the target: connection, collectors, jobs, window, analysis."""
    name = state.name
    rows: Rows = {}

    def add(family: str, labels: tuple[str, ...], value: float | int | None) -> None:
        if value is not None:
            rows.setdefault(family, []).append(((name, *labels), float(value)))

    session = state.session
    add("pgsage_up", (), int(state.up))
    if session is not None:
        if not state.up:
            add("pgsage_target_down_info", (session.down_kind or "error",), 1)
        add("pgsage_connection_attempts", (), session.attempts)
        add("pgsage_connection_failures", (), session.failures)
        add("pgsage_connections_lost", (), session.losses)
    for collector, result in sorted(state.collectors.items()):
        labels = (collector,)
        add("pgsage_collector_success", labels, int(result.status.ok))
        add("pgsage_collector_duration_seconds", labels, result.status.seconds)
        if result.status.ok:
            add("pgsage_collector_rows", labels, result.status.rows)
        else:
            add("pgsage_collector_error_info", (collector, result.kind or "error"), 1)
        add("pgsage_collector_last_success_timestamp_seconds", labels,
            state.last_success.get(collector))
    for group, stats in sorted(state.groups.items()):
        add("pgsage_cycles", (group,), stats.runs)
        add("pgsage_cycle_failures", (group,), stats.failures)
        add("pgsage_cycle_overruns", (group,), stats.overruns)
        add("pgsage_cycle_duration_seconds", (group,), stats.last_seconds)
    add("pgsage_last_successful_cycle_timestamp_seconds", (), state.last_good_cycle)
    add("pgsage_parse_failures", (), len(state.parse_failed))
    for kind, count in sorted(state.window.resets.items()):
        add("pgsage_stats_resets", (kind,), count)
    add("pgsage_window_seconds", (), state.window.seconds)
    add("pgsage_analysis_duration_seconds", (), state.analysis_seconds)
    add("pgsage_rules_duration_seconds", (), state.rules_seconds)
    add("pgsage_analysis_last_timestamp_seconds", (), state.analysis_at)
    return rows
