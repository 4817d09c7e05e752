"""Data checksums are off (or have found corruption)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules._support.settings import is_on
from pgsage.rules.base import NoOptions, Rule, register


@register
class DataChecksums(Rule[NoOptions]):
    """Data checksums are off (or have found corruption).

    What it detects:
        data_checksums = off (medium); with checksums on, checksum failures counted in
        pg_stat_database (critical: corruption was read).

    Why it matters:
        Without checksums PostgreSQL cannot tell a page damaged by the disk, the
        controller or the kernel from a good one: corruption is read as data, copied to
        backups and replicas, and noticed (if ever) much later. With them, the first read
        of a damaged page fails loudly. PostgreSQL 18 enables them by default in initdb.

    Example:
        SHOW data_checksums;   -- off

    What to do:
        pg_checksums --enable on the stopped cluster (time proportional to its size), or
        enable them on a standby and fail over to it. For failures found: restore the
        damaged relation from backup and check the storage.
    """

    code: ClassVar[str] = "BK007"
    name: ClassVar[str] = "backup.data_checksums"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.MEDIUM
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        enabled = model.server.data_checksums if model.server else is_on(model, "data_checksums")
        db = model.database
        if enabled and db is not None and db.checksum_failures:
            yield self.finding(
                severity=Severity.CRITICAL,
                title=f"Data checksums failed {db.checksum_failures} times: corruption was read",
                detail=(f"pg_stat_database counts {db.checksum_failures} checksum failures in "
                        f"{db.datname}: pages on disk do not match what PostgreSQL wrote. The "
                        "server log names the relations and blocks. Check the storage, restore "
                        "the damaged relations from a backup taken before the damage, and do "
                        "not fail over to a standby without checking it too."),
                object=ObjectRef(),
                action=Action(sql="SELECT datname, checksum_failures, checksum_last_failure "
                                  "FROM pg_stat_database WHERE checksum_failures > 0;"),
                evidence={"checksum_failures": db.checksum_failures,
                          "checksum_last_failure": db.checksum_last_failure},
                benefit=OUTAGE_BENEFIT,
            )
        if enabled is False:
            yield self.finding(
                title="Data checksums are off: corruption would go unnoticed",
                detail=("data_checksums is off, so a page damaged by the disk, controller or "
                        "kernel is read as valid data and spreads to backups and replicas. "
                        "pg_checksums --enable turns them on while the server is stopped "
                        "(time proportional to the cluster's size); to avoid the downtime, "
                        "enable them on a standby and fail over to it."),
                object=ObjectRef(),
                action=Action(shell="pg_ctl stop -D \"$PGDATA\" && "
                                    "pg_checksums --enable --progress -D \"$PGDATA\" && "
                                    "pg_ctl start -D \"$PGDATA\""),
                evidence={"data_checksums": False,
                          "cluster_bytes": sum(d.bytes or 0 for d in model.databases) or None},
            )
