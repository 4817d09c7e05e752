"""How the workload loads the server: read replicas for read-heavy load, memory for a
working set that does not fit, and write pressure on checkpoints.

SC001 read replicas, SC002 working set beyond memory (vertical scaling), SC004 checkpoints
requested by WAL volume (max_wal_size, checkpoint_timeout).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.bgwriter import BgwriterStats
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.wal import WalStats
from pgsage.rules._settings import change, display, evidence, pg_memory
from pgsage.rules._stats import stats_start
from pgsage.rules._workload import is_catalog_only, short, totals
from pgsage.rules.base import Rule, register

GB = 1024**3
WRITE_KINDS = ("insert", "update", "delete", "merge")


def busy_backends(model: Model) -> float:
    """Average number of backends executing statements over the window."""
    window_ms = model.window.seconds * 1000
    if window_ms <= 0:
        return 0.0
    return sum(t.exec_ms for t in totals(model).values() if t.toplevel) / window_ms


@register
class ReadReplicas(Rule):
    """A read-dominated workload that loads the server: route reads to replicas.

    What it detects:
        Over the window, read-only statements (plain SELECTs) take at least
        `min_read_share` of the statement time of reads and writes, and statements keep
        on average at least `min_load` of the host's CPUs busy (total execution time /
        window / CPUs). Medium from `high_load` with the CPU count given; low when it is
        assumed. With standbys already streaming, the finding says what to route to
        them.

    Why it matters:
        A primary serves writes alone; reads can go to any number of streaming replicas.
        When reads are most of the load, replicas scale it out without touching the
        application's writes, and take reporting queries off the primary.

    Example:
        92% of statement time in SELECTs, 3.1 backends busy on average on 4 CPUs

    What to do:
        Create a streaming replica (the action's pg_basebackup, on the new host) and
        route the listed statements to it where they tolerate a little lag (listings,
        searches, reports); keep reads that must see the session's own writes on the
        primary, or use synchronous_commit = remote_apply for them.

    Options:
        min_read_share: share of read/write statement time spent in reads.
        min_load: busy backends per CPU from which the load matters.
        high_load: busy backends per CPU for medium.
        max_listed: statements named.
    """

    code: ClassVar[str] = "SC001"
    name: ClassVar[str] = "scaling.read_replicas"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_read_share: float = 0.8
        min_load: float = 0.5
        high_load: float = 0.8
        max_listed: int = 10

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = totals(model)
        reads: list[tuple[int, float]] = []
        read_ms = write_ms = 0.0
        for queryid, t in found.items():
            st = model.workload.statements.get(queryid)
            if st is None or is_catalog_only(st) or not t.toplevel:
                continue
            if st.kind == "select" and st.plain_select:
                read_ms += t.total_ms
                reads.append((queryid, t.total_ms))
            elif st.kind in WRITE_KINDS or st.kind == "select":
                write_ms += t.total_ms
        if read_ms + write_ms <= 0:
            return
        share = read_ms / (read_ms + write_ms)
        busy = busy_backends(model)
        cpus = model.host.cpu_count
        load = busy / cpus
        if share < options.min_read_share or load < options.min_load:
            return
        reads.sort(key=lambda r: -r[1])
        listed = "\n".join(f"  - queryid {q} ({ms / read_ms:.0%} of read time): "
                           f"{short(model.statement_text(q), 140)}"
                           for q, ms in reads[: options.max_listed])
        replicas = model.replicas
        severity = (Severity.MEDIUM if load >= options.high_load and model.host.cpus is not None
                    else self.severity)
        target = model.snapshot.target
        tuples = _tuple_mix(model)
        if replicas:
            todo = (f"{len(replicas)} standby(s) already stream from this primary "
                    f"({', '.join(r.application_name or '?' for r in replicas)}): route these "
                    "reads to them where a little lag is acceptable.")
            action = None
        else:
            todo = ("Create a streaming replica (the action, run on the new host) and route "
                    "these reads to it where a little lag is acceptable; reads that must see "
                    "the session's own writes stay on the primary.")
            action = Action(shell=(f"pg_basebackup -h {target.host or 'PRIMARY_HOST'} -p "
                                   f"{target.port or 5432} -U replicator "
                                   "-D /var/lib/postgresql/replica -R -X stream -C -S replica1 "
                                   "-P"))
        yield self.finding(
            severity=severity,
            title=f"Reads are {share:.0%} of the load ({busy:,.1f} busy backends on {cpus} "
                  "CPUs): route them to read replicas",
            detail=(f"Over {model.window.describe()} read-only statements took {share:.0%} of "
                    f"the time of reads and writes{tuples}, and statements kept {busy:,.2f} "
                    f"backends busy on average ({load:.0%} of {model.host.cpu_phrase()}). "
                    f"{todo} The heaviest reads:\n{listed}"),
            object=ObjectRef(),
            action=action,
            impact={"queryids": [q for q, _ in reads[: options.max_listed]]},
            evidence={"read_share": round(share, 4), "read_ms": round(read_ms, 1),
                      "write_ms": round(write_ms, 1), "busy_backends": round(busy, 3),
                      "cpus": cpus, "cpus_assumed": model.host.cpus is None,
                      "replicas": len(replicas)},
            benefit=read_ms,
        )


def _tuple_mix(model: Model) -> str:
    now = model.database
    if now is None:
        return ""
    before = model.baseline.one("database", DatabaseStats) if model.baseline else None
    read = now.tup_returned + now.tup_fetched
    write = now.tup_inserted + now.tup_updated + now.tup_deleted
    if before is not None:
        read -= before.tup_returned + before.tup_fetched
        write -= before.tup_inserted + before.tup_updated + before.tup_deleted
    if read <= 0 or write < 0:
        return ""
    return f" (rows read {read:,} vs written {write:,})"


@register
class WorkingSetBeyondMemory(Rule):
    """The data the workload reads does not fit in memory: scale the host's RAM.

    What it detects:
        Over the window, a shared-buffer hit ratio under `min_hit_ratio` with at least
        `min_reads_per_second` blocks read a second, in a database larger than
        shared_buffers. With track_io_timing on, the mean read time tells OS-cache reads
        (microseconds: shared_buffers is the limit) from disk reads (the RAM is).
        Medium from a hit ratio under `medium_hit_ratio` when the host's RAM was given;
        low when it is assumed.

    Why it matters:
        Every block not in memory is read from storage, hundreds of times slower than
        from RAM: a working set that no longer fits turns a CPU-bound database into an
        I/O-bound one, and latency follows the disk.

    Example:
        hit ratio 82%, 4,000 blocks (31 MB) read a second, database 180 GB, RAM 32 GB

    What to do:
        Give the host more RAM (and shared_buffers about a quarter of it, CF010), or
        shrink what is read: indexes for the sequential scans (IX001, QY101), archiving
        or partitioning cold data (PT001).

    Options:
        min_hit_ratio: hit ratio under which it is reported.
        medium_hit_ratio: hit ratio for medium.
        min_reads_per_second: blocks read a second at least.
    """

    code: ClassVar[str] = "SC002"
    name: ClassVar[str] = "scaling.working_set"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_hit_ratio: float = 0.95
        medium_hit_ratio: float = 0.9
        min_reads_per_second: float = 500.0

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        now = model.database
        if now is None:
            return
        before = model.baseline.one("database", DatabaseStats) if model.baseline else None
        hit, read, read_ms = now.blks_hit, now.blks_read, now.blk_read_time
        start = stats_start(model)
        seconds = model.snapshot.taken_at - start
        if before is not None and now.blks_read >= before.blks_read:
            hit -= before.blks_hit
            read -= before.blks_read
            read_ms -= before.blk_read_time
            seconds = model.window.seconds
        if seconds <= 0 or hit + read <= 0:
            return
        ratio = hit / (hit + read)
        per_second = read / seconds
        shared = model.setting_bytes("shared_buffers") or 0
        size = model.server.database_bytes if model.server else None
        if ratio >= options.min_hit_ratio or per_second < options.min_reads_per_second:
            return
        if size is not None and size <= shared:
            return
        block = model.server.block_size if model.server else 8192
        ram = model.host.memory
        timing = ""
        if read_ms > 0 and read > 0:
            each = read_ms / read
            timing = (f" Reads took {each:.3f} ms each on average: "
                      + ("mostly the OS page cache, so RAM holds the data but shared_buffers "
                         "does not (CF010)." if each < 0.05 else "real storage reads."))
        severity = (Severity.MEDIUM if ratio < options.medium_hit_ratio
                    and not model.host.memory_assumed else self.severity)
        yield self.finding(
            severity=severity,
            title=f"Working set exceeds memory: hit ratio {ratio:.1%}, "
                  f"{format_bytes(per_second * block)}/s read",
            detail=(f"Over the window, {ratio:.1%} of block requests were served from "
                    f"shared_buffers ({display(model, 'shared_buffers')}); {read:,} blocks "
                    f"({format_bytes(read * block)}, {per_second:,.0f} a second) came from "
                    f"outside. The database is {format_bytes(size)}, the host has "
                    f"{model.host.memory_phrase()}.{timing} More RAM (with shared_buffers "
                    "about a quarter of it) keeps more of the working set in memory; indexes "
                    "for sequential scans and partitioning cold data shrink it."),
            object=ObjectRef(),
            evidence={"hit_ratio": round(ratio, 4), "blocks_read": read,
                      "blocks_read_per_second": round(per_second, 1),
                      "database_bytes": size, "shared_buffers_bytes": shared,
                      "host_memory_bytes": ram, "host_memory_assumed": model.host.memory_assumed,
                      "read_ms_per_block": round(read_ms / read, 4) if read else None},
            benefit=per_second,
        )


@register
class CheckpointPressure(Rule):
    """Checkpoints are forced by WAL volume rather than by time: raise max_wal_size.

    What it detects:
        At least `min_requested` requested checkpoints making at least
        `max_requested_share` of all checkpoints, over the window (or since the
        checkpointer's statistics were reset), when the WAL written per checkpoint_timeout
        (times 1 + checkpoint_completion_target) does reach max_wal_size: checkpoints
        requested otherwise (CHECKPOINT, CREATE or DROP DATABASE, base backups) are not
        WAL pressure. The proposal sizes max_wal_size so that
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

    Options:
        min_requested: requested checkpoints at least.
        max_requested_share: share of requested checkpoints from which it is reported.
        min_timeout: checkpoint_timeout (seconds) proposed at least.
    """

    code: ClassVar[str] = "SC004"
    name: ClassVar[str] = "scaling.checkpoints"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_requested: int = 3
        max_requested_share: float = 0.2
        min_timeout: int = 900

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        now = model.snapshot.one("bgwriter", BgwriterStats)
        wal = model.wal
        if now is None or wal is None or wal.in_recovery:
            return
        before = model.baseline.one("bgwriter", BgwriterStats) if model.baseline else None
        wal_before = model.baseline.one("wal", WalStats) if model.baseline else None
        timed, req = now.checkpoints_timed, now.checkpoints_req
        wal_bytes = float(wal.wal_bytes)
        seconds = model.snapshot.taken_at - (wal.stats_reset or stats_start(model))
        if before is not None and wal_before is not None and req >= before.checkpoints_req \
                and wal.wal_bytes >= wal_before.wal_bytes:
            timed -= before.checkpoints_timed
            req -= before.checkpoints_req
            wal_bytes -= wal_before.wal_bytes
            seconds = model.window.seconds
        if req < options.min_requested or req / max(req + timed, 1) < options.max_requested_share:
            return
        if seconds <= 0:
            return
        rate = wal_bytes / seconds
        timeout_ms = model.setting_ms("checkpoint_timeout") or 300_000.0
        timeout = max(timeout_ms / 1000, float(options.min_timeout))
        target = float(model.setting("checkpoint_completion_target") or 0.9)
        current = model.setting_bytes("max_wal_size") or GB
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
                    f"requested); WAL is written at {format_bytes(rate)}/s "
                    f"({format_bytes(rate * timeout)} per {timeout / 60:.0f} min; full-page "
                    f"images are {fpi} of WAL records since the last reset). With "
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

