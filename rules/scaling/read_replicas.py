"""A read-dominated workload that loads the server: route reads to replicas."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.collectors.database import DatabaseStats
from pgsage.rules._support.workload import exec_ms_after_indexes, is_catalog_only, short
from pgsage.rules.backup._replication import new_standby
from pgsage.rules.base import Rule, register

WRITE_KINDS = ("insert", "update", "delete", "merge")


def busy_backends(model: Model, after_indexes: bool = False) -> float:
    """Average number of backends executing statements over the window; with
    `after_indexes`, once the index plan's indexes exist."""
    window_ms = model.window.seconds * 1000
    if window_ms <= 0:
        return 0.0
    return sum(exec_ms_after_indexes(model, t) if after_indexes else t.exec_ms
               for t in model.totals.values() if t.toplevel) / window_ms


@register
class ReadReplicas(Rule["ReadReplicas.Options"]):
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
    """

    code: ClassVar[str] = "SC001"
    name: ClassVar[str] = "scaling.read_replicas"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_read_share: float = field(default=0.8, metadata={
            "help": "share of read/write statement time spent in reads."})
        min_load: float = field(default=0.5, metadata={
            "help": "busy backends per CPU from which the load matters."})
        high_load: float = field(default=0.8, metadata={
            "help": "busy backends per CPU for medium."})
        max_listed: int = field(default=10, metadata={"help": "statements named."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        reads: list[tuple[int, float]] = []
        read_ms = write_ms = read_now = 0.0
        for queryid, t in model.totals.items():
            st = model.workload.statements.get(queryid)
            if st is None or is_catalog_only(st) or not t.toplevel:
                continue
            remaining = exec_ms_after_indexes(model, t) + t.plan_ms
            if st.kind == "select" and st.plain_select:
                read_ms += remaining
                read_now += t.total_ms
                reads.append((queryid, remaining))
            elif st.kind in WRITE_KINDS or st.kind == "select":
                write_ms += remaining
        if read_ms + write_ms <= 0:
            return
        share = read_ms / (read_ms + write_ms)
        busy_now = busy_backends(model)
        busy = busy_backends(model, after_indexes=True)
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
        tuples = _tuple_mix(model)
        indexed = busy < busy_now * 0.99
        after = (f" That is after the proposed indexes (IX001), which take {busy_now:,.2f} "
                 f"busy backends to {busy:,.2f} by the planner's cost estimates; the reads "
                 f"took {read_now:,.0f} ms before them." if indexed else "")
        if replicas:
            todo = (f"{len(replicas)} standby(s) already stream from this primary "
                    f"({', '.join(r.application_name or '?' for r in replicas)}): route these "
                    "reads to them where a little lag is acceptable.")
            action = None
        else:
            action, steps = new_standby(model, "/var/lib/postgresql/replica", "replica1")
            todo = (f"Create a streaming replica ({steps}) and route these reads to it "
                    "where a little lag is acceptable; reads that must see the session's "
                    "own writes stay on the primary.")
        yield self.finding(
            severity=severity,
            title=f"Reads are {share:.0%} of the load ({busy:,.1f} busy backends on {cpus} "
                  "CPUs" + (" after the proposed indexes" if indexed else "")
                  + "): route them to read replicas",
            detail=(f"Over {model.window.describe()} read-only statements took {share:.0%} of "
                    f"the time of reads and writes{tuples}, and statements kept {busy:,.2f} "
                    f"backends busy on average ({load:.0%} of {model.host.cpu_phrase()})."
                    f"{after} {todo} The heaviest reads:\n{listed}"),
            object=ObjectRef(),
            action=action,
            impact={"queryids": [q for q, _ in reads[: options.max_listed]]},
            evidence={"read_share": round(share, 4), "read_ms": round(read_ms, 1),
                      "write_ms": round(write_ms, 1), "busy_backends": round(busy, 3),
                      "busy_backends_now": round(busy_now, 3),
                      "after_proposed_indexes": indexed,
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
