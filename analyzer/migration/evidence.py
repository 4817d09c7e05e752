"""What the live server says about the relations a migration touches, and what it costs.

Filled by `pgsage.analyzer.live.migration` over a DSN; pure data here so the cost arithmetic
is testable without a server. Every rate says the interval it was measured over, every hold
time the method and throughput it assumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pgsage.analyzer.migration import locks as L
from pgsage.analyzer.migration.analysis import BUILD, REWRITE, SCAN
from pgsage.analyzer.units import format_bytes

DEFAULT_THROUGHPUT = 200 * 1024 * 1024
"""Bytes per second assumed for a sequential read (and for writing a rewritten copy)."""


@dataclass(frozen=True)
class RelationEvidence:
    relation: str
    heap_bytes: int
    total_bytes: int
    """Heap, TOAST and indexes."""
    rows: int
    """pg_class.reltuples (an estimate; -1 when never analysed)."""
    writes_per_s: float | None = None
    """Rows inserted, updated and deleted per second over the sample."""
    reads_per_s: float | None = None
    """Sequential and index scans started per second over the sample."""


@dataclass(frozen=True)
class Session:
    """A session holding or waiting for a lock on a relation of the migration, now."""

    pid: int
    relation: str
    mode: str
    granted: bool
    state: str
    xact_age_s: float | None
    blocked_by: tuple[int, ...] = ()
    application: str = ""


@dataclass(frozen=True)
class Timeouts:
    lock_timeout: str | None
    statement_timeout: str | None
    source: str
    """Where they come from: role/database settings, the server configuration."""


@dataclass(frozen=True)
class Evidence:
    sample_seconds: float
    relations: dict[str, RelationEvidence]
    sessions: list[Session]
    long_transactions: list[Session]
    """Transactions open longer than the threshold on any relation: CONCURRENTLY builds and
    every lock request conflicting with theirs wait for them."""
    timeouts: Timeouts
    throughput: float = DEFAULT_THROUGHPUT
    throughput_method: str = "an assumed sequential rate; --throughput sets it"
    notes: list[str] = field(default_factory=list)

    def find(self, relation: str) -> RelationEvidence | None:
        return self.relations.get(relation) or self.relations.get(f"public.{relation}")


@dataclass(frozen=True)
class Cost:
    hold_s: float
    method: str
    blocked_writes: float | None
    blocked_reads: float | None


def hold_time(effect: str, rel: RelationEvidence, evidence: Evidence) -> tuple[float, str]:
    """How long a statement holds its lock on `rel` for a rewrite, a scan or an index build.

    A rewrite reads the heap and writes heap and indexes again (2 x total size); a scan reads
    the heap; an index build reads the heap and writes about as much again for the sort.
    """
    rate = evidence.throughput
    if effect.startswith(REWRITE):
        size, how = 2 * rel.total_bytes, "rewrite: read + write"
    elif effect == BUILD:
        size, how = 2 * rel.heap_bytes, "index build: heap read + sort"
    elif effect == SCAN:
        size, how = rel.heap_bytes, "scan: heap read"
    else:
        return 0.0, "catalog only: as long as the lock is queued, not the table size"
    return size / rate, (f"{how} of {format_bytes(size)} at {format_bytes(int(rate))}/s, "
                         f"{evidence.throughput_method}")


def cost(effect: str, mode: str, rel: RelationEvidence, evidence: Evidence) -> Cost:
    seconds, method = hold_time(effect, rel, evidence)
    writes = (rel.writes_per_s * seconds if rel.writes_per_s is not None
              and L.blocks_writes(mode) else None)
    reads = (rel.reads_per_s * seconds if rel.reads_per_s is not None
             and L.blocks_reads(mode) else None)
    return Cost(seconds, method, writes, reads)


def conflicting_sessions(relation: str, mode: str, evidence: Evidence) -> list[Session]:
    """Sessions the statement would queue behind: granted locks that conflict, and requests
    already waiting that conflict (the queue is served in order)."""
    return [s for s in evidence.sessions
            if s.relation in (relation, f"public.{relation}") and L.conflicts(mode, s.mode)]
