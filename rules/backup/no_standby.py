"""No standby is connected to this primary."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.rules.backup._replication import new_standby, replication_role, standbys
from pgsage.rules.base import NoOptions, Rule, register


@register
class NoStandby(Rule[NoOptions]):
    """No standby is connected to this primary.

    What it detects:
        A primary (not in recovery) with no streaming standby in pg_stat_replication
        (pg_receivewal, Barman and pg_basebackup connections do not count). Low: a
        single server with good backups can be a deliberate choice.

    Why it matters:
        Without a standby, losing the host means restoring from backup: the outage lasts
        as long as the restore and the WAL replay (often hours), and changes not yet
        archived are lost. A streaming standby takes over in seconds to minutes.

    Example:
        pg_stat_replication is empty

    What to do:
        Create a standby with pg_basebackup, run on the new standby's host (-R writes its
        connection settings, -C -S creates a replication slot for it) as a role with
        REPLICATION that pg_hba.conf admits for replication (the action creates the role
        and names the pg_hba.conf line when they are missing), and manage failover with
        Patroni or your platform's tooling. If availability is handled below PostgreSQL
        (a managed service, replicated storage), ignore this rule in the configuration.
    """

    code: ClassVar[str] = "BK004"
    name: ClassVar[str] = "backup.no_standby"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.LOW
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if model.server is None or model.server.in_recovery or not model.collected("replication"):
            return
        if standbys(model):
            return
        action, steps = new_standby(model, "/var/lib/postgresql/standby", "standby1")
        yield self.finding(
            title="No standby is connected: losing this host means restoring from backup",
            detail=("No streaming standby is connected to this primary. If the host fails, "
                    "the database is down until a backup is restored and its WAL replayed, "
                    "and whatever was not archived is lost. A standby created with "
                    f"pg_basebackup takes over in minutes. The steps: {steps}."),
            object=ObjectRef(),
            action=action,
            evidence={"standbys": 0, "replication_role": replication_role(model),
                      "replication_connections": len(model.replicas),
                      "wal_level": model.setting("wal_level"),
                      "max_wal_senders": model.setting("max_wal_senders")},
        )

    def questions(self, model: Model, options: NoOptions) -> Iterable[str]:
        if model.server is not None and not model.server.in_recovery and not standbys(model):
            yield ("What is the recovery-time objective if this host is lost, and how is it "
                   "met without a standby (managed failover, replicated storage, restore)?")
