"""The data the workload reads does not fit in memory: scale the host's RAM."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.database import DatabaseStats
from pgsage.rules._support.settings import display
from pgsage.rules.base import Rule, register


@register
class WorkingSetBeyondMemory(Rule["WorkingSetBeyondMemory.Options"]):
    """The data the workload reads does not fit in memory: scale the host's RAM.

    What it detects:
        Over the window, a shared-buffer hit ratio under `min_hit_ratio` with at least
        `min_reads_per_second` blocks read a second, in a database larger than
        shared_buffers. With track_io_timing on, the mean read time tells OS-cache reads
        (microseconds: shared_buffers is the limit) from disk reads (the RAM is).
        Medium from a hit ratio under `medium_hit_ratio` when the host's RAM was given;
        low when it is assumed. Not when memory already holds the data: reads from the
        OS page cache (under `os_cache_read_ms` each), or a database no larger than the
        given RAM, want shared_buffers (CF010), not RAM. Not when the indexes pgsage
        proposes (IX001) take the reads under `min_reads_per_second`: the blocks the
        statements they serve read, scaled by the planner's cost ratio, where statement
        and database counters cover the same window. Where neither the read times
        (track_io_timing) nor the RAM are known, the title says what is known: the
        working set exceeds shared_buffers.

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
    """

    code: ClassVar[str] = "SC002"
    name: ClassVar[str] = "scaling.working_set"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_hit_ratio: float = field(default=0.95, metadata={
            "help": "hit ratio under which it is reported."})
        medium_hit_ratio: float = field(default=0.9, metadata={"help": "hit ratio for medium."})
        min_reads_per_second: float = field(default=500.0, metadata={
            "help": "blocks read a second at least."})
        os_cache_read_ms: float = field(default=0.05, metadata={
            "help": "mean read time under which reads come from the OS page cache."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        now = model.database
        if now is None:
            return
        before = model.baseline.one("database", DatabaseStats) if model.baseline else None
        hit, read, read_ms = now.blks_hit, now.blks_read, now.blk_read_time
        start = model.stats_start
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
        each = read_ms / read if read_ms > 0 and read > 0 else None
        if each is not None and each < options.os_cache_read_ms:
            return  # RAM holds the data; shared_buffers does not (CF010)
        if size is not None and not model.host.memory_assumed and size <= ram:
            return  # the whole database fits in RAM
        saved = _reads_saved_by_indexes(model)
        if saved and (read - saved) / seconds < options.min_reads_per_second:
            return  # the proposed indexes are the fix
        beyond_memory = each is not None or (size is not None and not model.host.memory_assumed)
        timing = ("" if each is None else
                  f" Reads took {each:.3f} ms each on average: real storage reads.")
        if not beyond_memory:
            timing = (" Whether RAM holds the rest is unknown: turn track_io_timing on (read "
                      "times tell the OS cache from storage) or give the host's RAM.")
        indexes = (f" The proposed indexes (IX001) would save about {saved:,.0f} of these "
                   "block reads by the planner's cost estimates; the rest is what more "
                   "memory would serve." if saved else "")
        severity = (Severity.MEDIUM if ratio < options.medium_hit_ratio
                    and not model.host.memory_assumed else self.severity)
        yield self.finding(
            severity=severity,
            title=f"Working set exceeds {'memory' if beyond_memory else 'shared_buffers'}: "
                  f"hit ratio {ratio:.1%}, {format_bytes(per_second * block)}/s read",
            detail=(f"Over the window, {ratio:.1%} of block requests were served from "
                    f"shared_buffers ({display(model, 'shared_buffers')}); {read:,} blocks "
                    f"({format_bytes(read * block)}, {per_second:,.0f} a second) came from "
                    f"outside. The database is {format_bytes(size)}, the host has "
                    f"{model.host.memory_phrase()}.{timing}{indexes} More RAM (with "
                    "shared_buffers about a quarter of it) keeps more of the working set in "
                    "memory; indexes for sequential scans and partitioning cold data shrink "
                    "it."),
            object=ObjectRef(),
            evidence={"hit_ratio": round(ratio, 4), "blocks_read": read,
                      "blocks_read_per_second": round(per_second, 1),
                      "database_bytes": size, "shared_buffers_bytes": shared,
                      "host_memory_bytes": ram, "host_memory_assumed": model.host.memory_assumed,
                      "read_ms_per_block": round(each, 4) if each is not None else None,
                      "blocks_read_saved_by_indexes": round(saved) if saved else None,
                      "beyond_memory": beyond_memory},
            benefit=per_second,
        )


def _reads_saved_by_indexes(model: Model) -> float:
    """Blocks the statements the index plan serves would no longer read, over the window:
    each one's blocks read times (1 - its cost ratio). Zero where the statement and
    database counters cover different windows (they cannot be weighed together)."""
    if not model.same_window:
        return 0.0
    saved = 0.0
    for t in model.totals.values():
        ratio = model.index_plan.cost_ratio(t.queryid)
        if ratio is not None and t.toplevel:
            saved += t.shared_read * (1.0 - ratio)
    return saved
