"""max_connections is far above the connections in use."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.collectors.activity import Backend
from pgsage.rules._support.settings import applies, change, evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.config._connections import client_backends


@register
class MaxConnections(Rule["MaxConnections.Options"]):
    """max_connections is far above the connections in use.

    What it detects:
        max_connections of at least `min_setting` while the client connections seen (at
        the snapshot, and at the baseline when given) would fit `headroom` times into a
        much smaller value. The proposal is `headroom` times the peak seen, at least
        `floor`, rounded up to 50. Low: a snapshot may miss the busiest hour.

    Why it matters:
        Every allowed connection reserves shared memory (lock table, PGPROC entries,
        per-backend statistics) whether used or not, and a high limit invites
        applications to open hundreds of connections, each a process competing for CPU
        and memory (work_mem each). A pooler gives many clients a few server connections.

    Example:
        max_connections = 2000 with 35 client connections

    What to do:
        Lower max_connections to what is used plus headroom (restart needed), and put a
        pooler (PgBouncer in transaction mode) in front of applications that need many
        client connections.
    """

    code: ClassVar[str] = "CF016"
    name: ClassVar[str] = "config.max_connections"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW
    reads: ClassVar[tuple[str, ...]] = ("activity",)

    @dataclass(frozen=True)
    class Options:
        min_setting: int = field(default=200, metadata={
            "help": "max_connections from which the rule looks."})
        headroom: float = field(default=4.0, metadata={
            "help": "factor of the peak seen kept as headroom."})
        floor: int = field(default=100, metadata={"help": "the smallest value proposed."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        value = model.setting("max_connections")
        if value is None or not model.collected("activity"):
            return
        current = int(value)
        seen = [len(client_backends(model.activity)) + 1]  # + pgsage's own connection
        if model.baseline is not None:
            seen.append(len(client_backends(model.baseline.rows("activity", Backend))) + 1)
        peak = max(seen)
        proposed = max(options.floor, math.ceil(peak * options.headroom / 50) * 50)
        if current < options.min_setting or current < 2 * proposed:
            return
        yield self.finding(
            severity=Severity.MEDIUM if current >= 1000 else self.severity,
            title=f"max_connections {current} for {peak} connections in use -> {proposed}",
            detail=(f"max_connections is {current} but {peak} client connections were open "
                    f"(pgsage's included; {model.host.cpu_phrase()}). Every allowed connection "
                    "reserves shared memory, and hundreds of busy backends compete for CPU and "
                    "work_mem; a pooler such as PgBouncer serves many clients with few "
                    f"connections. The change {applies(model, 'max_connections')}; "
                    "a snapshot can miss the busiest hour, so check the peak first "
                    "(pgsage's sidecar records it)."),
            object=ObjectRef(),
            action=change(model, {"max_connections": str(proposed)}),
            evidence=evidence(model, "max_connections", str(proposed), peak_seen=peak,
                              cpus=model.host.cpu_count, cpus_assumed=model.host.cpus is None),
            benefit=float(current - proposed),
        )
