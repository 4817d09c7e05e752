"""Checkpoints are forced by WAL volume rather than by time: raise max_wal_size."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import GB, format_bytes
from pgsage.collectors.bgwriter import BgwriterStats
from pgsage.collectors.wal import WalStats
from pgsage.rules._support.settings import change, display, evidence, pg_memory
from pgsage.rules.base import Rule, register


@register
class CheckpointPressure(Rule["CheckpointPressure.Options"]):
    """Checkpoints are forced by WAL volume rather than by time: raise max_wal_size.

    What it detects:
        At least `min_requested` requested checkpoints making at least
        `max_requested_share` of all checkpoints, over the window (or since the
        checkpointer's statistics were reset), when the WAL written per checkpoint_timeout
        (times 1 + checkpoint_completion_target) does reach max_wal_size, and the WAL
        written in the window could have forced `min_requested` checkpoints (one per
        max_wal_size / (1 + checkpoint_completion_target)): checkpoints requested otherwise
        (CHECKPOINT, CREATE or DROP DATABASE, base backups) are not WAL pressure, also when
        a short window's burst extrapolates to a high rate. The proposal sizes max_wal_size so that
        the WAL written in one checkpoint_timeout (measured from pg_stat_wal) fits with
        checkpoint_completion_target and 25% headroom, rounded up to a GB; a
        checkpoint_timeout under `min_timeout` is raised to it. Medium when most
        checkpoints are requested.

    Why it matters:
        A checkpoint writes every dirty buffer; the first change of each page after it
        writes the whole page to WAL (full-page images). Checkpoints forced by
        max_wal_size come more often than planned: more I/O bursts, more WAL, longer
        replication and archive traffic.

    Example:
        checkpoints: 4 timed, 57 requested; 1.2 GB of WAL per 5 minutes, max_wal_size 1GB

    What to do:
        Raise max_wal_size (and checkpoint_timeout) as proposed: a reload, no restart.
        pg_wal needs room for max_wal_size; crash recovery replays up to one checkpoint
        interval of WAL.
    """

    code: ClassVar[str] = "SC004"
    name: ClassVar[str] = "scaling.checkpoints"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_requested: int = field(default=3, metadata={"help": "requested checkpoints at least."})
        max_requested_share: float = field(default=0.2, metadata={
            "help": "share of requested checkpoints from which it is reported."})
        min_timeout: int = field(default=900, metadata={
            "help": "checkpoint_timeout (seconds) proposed at least."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        now = model.snapshot.one("bgwriter", BgwriterStats)
        wal = model.wal
        if now is None or wal is None or wal.in_recovery:
            return
        before = model.baseline.one("bgwriter", BgwriterStats) if model.baseline else None
        wal_before = model.baseline.one("wal", WalStats) if model.baseline else None
        timed, req = now.checkpoints_timed, now.checkpoints_req
        wal_bytes = float(wal.wal_bytes)
        window = model.windows["wal"]
        if window.kind == "between-snapshots":
            if before is None or wal_before is None or req < before.checkpoints_req \
                    or wal.wal_bytes < wal_before.wal_bytes:
                return  # reset in between: the next pair of snapshots measures it
            timed -= before.checkpoints_timed
            req -= before.checkpoints_req
            wal_bytes -= wal_before.wal_bytes
        if req < options.min_requested or req / max(req + timed, 1) < options.max_requested_share:
            return
        target = float(model.setting("checkpoint_completion_target") or 0.9)
        current = model.setting_bytes("max_wal_size") or GB
        if wal_bytes * (1 + target) / current < options.min_requested:
            # The WAL written could not have forced that many checkpoints (the checkpointer
            # requests one each max_wal_size / (1 + target)): CREATE DATABASE, CHECKPOINT...
            return
        rate = window.per_second(wal_bytes)
        if rate is None:
            return  # no known window: the WAL rate max_wal_size is sized from is unknown
        timeout_ms = model.setting_ms("checkpoint_timeout") or 300_000.0
        timeout = max(timeout_ms / 1000, float(options.min_timeout))
        written = rate * (timeout_ms / 1000) * (1 + target)
        if written < current:
            return  # WAL volume stays under max_wal_size: CHECKPOINT, CREATE/DROP DATABASE...
        needed = rate * timeout * (1 + target) * 1.25
        proposed = max(math.ceil(needed / GB), math.ceil(current * 2 / GB)) * GB
        values = {"max_wal_size": pg_memory(proposed)}
        if timeout_ms / 1000 < options.min_timeout:
            values["checkpoint_timeout"] = f"{options.min_timeout // 60}min"
        share = req / max(req + timed, 1)
        fpi = f"{wal.wal_fpi / wal.wal_records:.0%}" if wal.wal_records else "?"
        yield self.finding(
            severity=Severity.MEDIUM if share >= 0.5 else self.severity,
            title=f"{req} of {req + timed} checkpoints forced by WAL volume: max_wal_size "
                  f"{display(model, 'max_wal_size')} -> {values['max_wal_size']}",
            detail=(f"{req} checkpoints were requested and {timed} timed ({share:.0%} "
                    f"requested); WAL is written at {format_bytes(rate)}/s over "
                    f"{window.describe()} ({format_bytes(rate * timeout)} per "
                    f"{timeout / 60:.0f} min; full-page images are {fpi} of WAL records since "
                    "the last reset). With "
                    f"checkpoint_completion_target {target}, max_wal_size "
                    f"{values['max_wal_size']} lets checkpoints come on time"
                    + (f" with checkpoint_timeout {values['checkpoint_timeout']}"
                       if "checkpoint_timeout" in values else "")
                    + ". pg_wal needs that much room; crash recovery replays up to one "
                    "checkpoint interval of WAL. Reload, no restart."),
            object=ObjectRef(),
            action=change(model, values),
            evidence=evidence(model, "max_wal_size", values["max_wal_size"],
                              checkpoints_timed=timed, checkpoints_requested=req,
                              wal_bytes_per_second=round(rate, 1),
                              checkpoint_timeout=display(model, "checkpoint_timeout"),
                              proposed_checkpoint_timeout=values.get("checkpoint_timeout")),
            benefit=float(req),
        )
