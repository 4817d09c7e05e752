"""Capacity: how fast the databases grow, and when they reach the disk size the user gives.

SC003. Integer keys running out are projected by SD004 (schema) and MT001 (sequences), one
finding per key; this rule is about bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.databases import Database
from pgsage.collectors.server import Server
from pgsage.collectors.tables import TableStats
from pgsage.rules.base import Rule, register

DAY = 86_400.0


def cluster_bytes(snapshot: Snapshot) -> int | None:
    """All databases of the cluster (what shares the disk), or this one when that is all
    the role may see."""
    sizes = [d.bytes for d in snapshot.rows("databases", Database) if d.bytes is not None]
    if sizes:
        return sum(sizes)
    server = snapshot.one("server", Server)
    return server.database_bytes if server else None


@register
class CapacityProjection(Rule["CapacityProjection.Options"]):
    """The databases grow toward the disk size given: days left at the observed rate.

    What it detects:
        With a baseline at least `min_window_seconds` old, the growth of all databases of
        the cluster per day, and the tables that grew most. With the disk size given
        (`pgsage analyze --disk-size 500GB`, or the option `disk_bytes`), the days until
        the databases fill it: critical under `critical_days`, high under `high_days`,
        medium under `medium_days`, low under `horizon_days`. Without a disk size, the
        growth is reported as info; and with a disk size but no baseline, only a disk at
        least `full_share` full is reported. WAL, logs and other files on the same disk
        are not counted: the real margin is smaller.

    Why it matters:
        A full disk stops PostgreSQL (it cannot write WAL) and needs an emergency.
        Buying, provisioning or archiving takes weeks; the date is worth knowing early.

    Example:
        cluster 410 GB, +2.1 GB a day, disk 500 GB: full in about 43 days

    What to do:
        Grow the disk (or move to a larger volume) before the date, or shrink what grows:
        retention by partition (PT001), archiving cold data, removing bloat (MT014,
        MT015) and unused indexes (IX004).
    """

    code: ClassVar[str] = "SC003"
    name: ClassVar[str] = "scaling.capacity"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        disk_bytes: int = field(default=0, metadata={
            "help": "size of the data disk in bytes (0: unknown; `--disk-size`)."})
        min_window_seconds: float = field(default=3600.0, metadata={
            "help": "shortest window a growth rate is measured over."})
        horizon_days: float = field(default=365.0, metadata={
            "help": "days left under which the finding is low."})
        medium_days: float = field(default=90.0, metadata={
            "help": "days left under which the finding is medium."})
        high_days: float = field(default=30.0, metadata={
            "help": "days left under which the finding is high."})
        critical_days: float = field(default=7.0, metadata={
            "help": "days left under which the finding is critical."})
        full_share: float = field(default=0.8, metadata={
            "help": "without a baseline, the share of the disk used that is reported."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        size = cluster_bytes(model.snapshot)
        if size is None:
            return
        disk = options.disk_bytes
        before = cluster_bytes(model.baseline) if model.baseline is not None else None
        if before is None or model.window.seconds < options.min_window_seconds:
            if disk > 0 and size / disk >= options.full_share:
                yield self.finding(
                    severity=Severity.MEDIUM,
                    title=f"Databases use {size / disk:.0%} of the {format_bytes(disk)} disk",
                    detail=(f"The cluster's databases take {format_bytes(size)} of the "
                            f"{format_bytes(disk)} disk given, before WAL and logs. Give a "
                            "baseline snapshot (--baseline) for a growth rate and a date."),
                    object=ObjectRef(),
                    evidence={"cluster_bytes": size, "disk_bytes": disk,
                              "used_share": round(size / disk, 4)},
                    benefit=float(size))
            return
        per_day = (size - before) / (model.window.seconds / DAY)
        if per_day <= 0:
            return
        growing = _growing_tables(model)
        top = ", ".join(f"{name} +{format_bytes(delta / (model.window.seconds / DAY))}/day"
                        for name, delta in growing[:5])
        tables = f" Growing most: {top}." if top else ""
        if disk <= 0:
            yield self.finding(
                title=f"Databases grow by {format_bytes(per_day)} a day "
                      f"({format_bytes(size)} now)",
                detail=(f"Between the snapshots ({model.window.describe()}) the cluster's "
                        f"databases grew from {format_bytes(before)} to {format_bytes(size)}: "
                        f"{format_bytes(per_day)} a day.{tables} Give the disk size "
                        "(--disk-size) for the date it fills up."),
                object=ObjectRef(),
                evidence={"cluster_bytes": size, "baseline_bytes": before,
                          "growth_bytes_per_day": round(per_day),
                          "tables": [{"table": n, "bytes": d} for n, d in growing[:10]]},
                benefit=per_day)
            return
        days = (disk - size) / per_day
        if days >= options.horizon_days:
            return
        severity = Severity.LOW
        for limit, level in ((options.medium_days, Severity.MEDIUM),
                             (options.high_days, Severity.HIGH),
                             (options.critical_days, Severity.CRITICAL)):
            if days < limit:
                severity = level
        yield self.finding(
            severity=severity,
            title=f"The {format_bytes(disk)} disk fills up in about {max(days, 0):,.0f} days "
                  f"(+{format_bytes(per_day)} a day)",
            detail=(f"Between the snapshots ({model.window.describe()}) the cluster's databases "
                    f"grew from {format_bytes(before)} to {format_bytes(size)}: "
                    f"{format_bytes(per_day)} a day. At that rate they fill the "
                    f"{format_bytes(disk)} disk in about {max(days, 0):,.0f} days, sooner with "
                    f"WAL and logs on the same disk.{tables} Grow the disk before then, or "
                    "shrink what grows (retention by partition, archiving, bloat, unused "
                    "indexes)."),
            object=ObjectRef(),
            evidence={"cluster_bytes": size, "baseline_bytes": before, "disk_bytes": disk,
                      "growth_bytes_per_day": round(per_day), "days_left": round(days, 1),
                      "tables": [{"table": n, "bytes": d} for n, d in growing[:10]]},
            benefit=1e12 / max(days, 0.1),
        )


def _growing_tables(model: Model) -> list[tuple[str, int]]:
    if model.baseline is None:
        return []
    before = {t.relid: t for t in model.baseline.rows("tables", TableStats)}
    out = []
    for t in model.tables.values():
        old = before.get(t.relid)
        if old is None or t.table_bytes is None or old.table_bytes is None:
            continue
        delta = t.table_bytes - old.table_bytes
        if delta > 0:
            out.append((f"{t.schema}.{t.name}", delta))
    return sorted(out, key=lambda x: -x[1])
