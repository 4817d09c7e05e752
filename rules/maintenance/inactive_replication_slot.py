"""A replication slot is not in use and keeps WAL (and maybe dead rows) around."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import literal
from pgsage.analyzer.units import GB, format_bytes, format_duration
from pgsage.rules.base import Rule, register


@register
class InactiveReplicationSlot(Rule["InactiveReplicationSlot.Options"]):
    """A replication slot is not in use and keeps WAL (and maybe dead rows) around.

    What it detects:
        Permanent replication slots that are not active. High when the WAL they retain
        reaches `high_bytes`, when the slot has already made the server keep more WAL than
        max_wal_size (wal_status `extended` or `unreserved`), or when it holds back the
        xmin horizon; medium otherwise. A slot already `lost` is medium: it is useless
        and only needs dropping.

    Why it matters:
        A slot makes the server keep every WAL segment its consumer has not confirmed,
        forever unless max_slot_wal_keep_size is set: an abandoned slot fills the WAL disk
        and the server stops. A logical slot (or a physical one with
        hot_standby_feedback) also holds back vacuum for the whole cluster.

    Example:
        SELECT pg_create_physical_replication_slot('old_standby', true);  -- never used

    What to do:
        If its standby or subscriber is gone, drop the slot. If it is coming back, make
        sure it does soon, and set max_slot_wal_keep_size so a lost consumer cannot fill
        the disk.
    """

    code: ClassVar[str] = "MT017"
    name: ClassVar[str] = "maintenance.inactive_replication_slot"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        high_bytes: int = field(default=1 * GB, metadata={
            "help": "retained WAL from which the finding is high."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        keep = model.setting("max_slot_wal_keep_size")
        for s in model.replication_slots:
            if s.active or s.temporary:
                continue
            retained = s.retained_bytes
            xmin = max(s.xmin_age or 0, s.catalog_xmin_age or 0)
            lost = s.wal_status == "lost" or bool(s.invalidation_reason)
            high = not lost and ((retained or 0) >= options.high_bytes or xmin > 0
                                 or s.wal_status in ("extended", "unreserved"))
            idle = model.snapshot.taken_at - s.inactive_since if s.inactive_since else None
            since = f", inactive for {format_duration(idle)}" if idle is not None else ""
            parts = [f"The {s.slot_type} replication slot {s.slot_name}"
                     + (f" (plugin {s.plugin}, database {s.database})" if s.plugin else "")
                     + f" is not in use{since}."]
            if lost:
                parts.append("Its WAL was already removed (wal_status lost"
                             + (f", {s.invalidation_reason}" if s.invalidation_reason else "")
                             + "): it can never be used again; drop it.")
            else:
                parts.append(f"It retains {format_bytes(retained)} of WAL (wal_status "
                             f"{s.wal_status}), growing with every write until its consumer "
                             "returns or the disk is full.")
            if xmin:
                parts.append(f"It also holds the xmin horizon {xmin:,} transactions back: "
                             "vacuum cannot remove dead rows newer than that in any table.")
            if keep in ("-1", None):
                parts.append("max_slot_wal_keep_size is -1 (unlimited); setting it caps what "
                             "a lost consumer can retain.")
            parts.append("Drop it if its standby or subscriber is gone for good.")
            yield self.finding(
                severity=Severity.HIGH if high else self.severity,
                title=f"Inactive replication slot {s.slot_name} retains "
                      f"{format_bytes(retained)} of WAL",
                detail=" ".join(parts),
                object=ObjectRef(),
                action=Action(sql=f"SELECT pg_drop_replication_slot({literal(s.slot_name)});"),
                evidence={"slot_name": s.slot_name, "slot_type": s.slot_type,
                          "retained_bytes": retained, "wal_status": s.wal_status,
                          "xmin_age": s.xmin_age, "catalog_xmin_age": s.catalog_xmin_age,
                          "max_slot_wal_keep_size": keep},
                benefit=float(retained or 0) + xmin,
            )
