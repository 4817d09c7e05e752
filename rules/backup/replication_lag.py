"""A standby is far behind the primary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import GB, format_bytes, format_duration
from pgsage.rules.backup._replication import standbys
from pgsage.rules.base import Rule, register


@register
class ReplicationLag(Rule["ReplicationLag.Options"]):
    """A standby is far behind the primary.

    What it detects:
        Connected standbys whose replay lag is at least `max_lag_seconds` or whose replayed
        position is at least `max_lag_bytes` behind; high at ten times either, or when the
        standby is not streaming (catching up, or stopped answering for `max_lag_seconds`).

    Why it matters:
        A failover to a lagging standby loses the transactions it has not received, or
        waits until it has replayed what it has; reads from it return stale data; and the
        primary keeps the WAL it still needs.

    Example:
        replay_lag = 00:12:40 on standby1 while write_lag is 40 ms

    What to do:
        Compare the lags: write/flush lag is the network or the standby's disk; replay lag
        alone is the standby applying (long queries there with hot_standby_feedback or
        max_standby_streaming_delay, or a single-threaded replay of heavy writes). The
        action shows the lags side by side.
    """

    code: ClassVar[str] = "BK005"
    name: ClassVar[str] = "backup.replication_lag"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        max_lag_seconds: float = field(default=60.0, metadata={
            "help": "replay lag from which a standby is reported."})
        max_lag_bytes: int = field(default=1 * GB, metadata={
            "help": "bytes of WAL not yet replayed from which it is reported."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for r in standbys(model):
            lag_s = r.replay_lag or 0.0
            lag_b = r.replay_lag_bytes or 0
            silent = (r.reply_age or 0.0) >= options.max_lag_seconds
            streaming = r.state == "streaming"
            if (lag_s < options.max_lag_seconds and lag_b < options.max_lag_bytes
                    and streaming and not silent):
                continue
            high = (lag_s >= 10 * options.max_lag_seconds or lag_b >= 10 * options.max_lag_bytes
                    or not streaming or silent)
            where = ("the network or the standby's disk" if (r.write_lag or 0) > lag_s / 2
                     else "the standby's replay (queries conflicting on it, or heavy writes)")
            yield self.finding(
                severity=Severity.HIGH if high else self.severity,
                title=f"Standby {r.application_name or r.client_addr} is "
                      f"{format_duration(lag_s)} / {format_bytes(lag_b)} behind",
                detail=(f"Standby {r.application_name} ({r.client_addr}, {r.state}, "
                        f"{r.sync_state}) replays {format_duration(lag_s)} and "
                        f"{format_bytes(lag_b)} behind this primary (write lag "
                        f"{format_duration(r.write_lag)}, flush lag "
                        f"{format_duration(r.flush_lag)}; last reply "
                        f"{format_duration(r.reply_age)} ago). The delay looks like {where}. "
                        "A failover now would lose or wait for that much."),
                object=ObjectRef(),
                action=Action(sql="SELECT application_name, state, sync_state, write_lag, "
                                  "flush_lag, replay_lag,\n       pg_wal_lsn_diff("
                                  "pg_current_wal_lsn(), replay_lsn) AS replay_bytes\n  "
                                  "FROM pg_stat_replication;"),
                evidence={"application_name": r.application_name, "state": r.state,
                          "replay_lag_seconds": r.replay_lag, "replay_lag_bytes": lag_b,
                          "write_lag_seconds": r.write_lag, "flush_lag_seconds": r.flush_lag,
                          "reply_age_seconds": r.reply_age},
                benefit=lag_s + lag_b / 1e6,
            )
