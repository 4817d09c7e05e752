"""Durability: settings that trade crash safety for speed, WAL too thin for recovery, and
data checksums."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.rules._settings import applies, change, evidence, is_on
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules.base import NoOptions, Rule, register

RISKS = {
    "fsync": (Severity.CRITICAL, "on",
              "PostgreSQL never forces its writes to disk: after an operating system crash or "
              "power loss the data files can be left inconsistent, i.e. the database corrupt, "
              "not just missing recent commits. It is only safe for data you can recreate"),
    "full_page_writes": (Severity.HIGH, "on",
                         "After a crash, a page half written when the power went (a torn page) "
                         "cannot be repaired from the WAL: silent corruption, unless the "
                         "storage guarantees atomic 8 kB writes (ZFS and a few others)"),
    "synchronous_commit": (Severity.MEDIUM, "on",
                           "Commits return before their WAL reaches disk: a server crash loses "
                           "the last commits (up to three times wal_writer_delay, 600 ms by "
                           "default) that clients were told succeeded. No corruption; choose "
                           "it per transaction (SET LOCAL synchronous_commit = off) where that "
                           "loss is acceptable instead of for everything"),
}


@register
class DurabilityOff(Rule):
    """fsync, full_page_writes or synchronous_commit is off.

    What it detects:
        Each of the three settings set to off, one finding per setting: fsync (critical),
        full_page_writes (high), synchronous_commit (medium).

    Why it matters:
        fsync = off risks a corrupt database after an OS crash or power loss;
        full_page_writes = off risks torn pages that WAL replay cannot repair;
        synchronous_commit = off loses the last fraction of a second of acknowledged
        commits in a crash, without corruption. Each finding says what it risks.

    Example:
        fsync = off   # copied from a benchmark or a test setup

    What to do:
        Turn them back on (each takes effect on reload). Where speed matters, keep
        synchronous_commit off only for the transactions that can afford it.

    Options:
        None.
    """

    code: ClassVar[str] = "BK008"
    name: ClassVar[str] = "backup.durability_off"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.CRITICAL

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        for name, (severity, proposed, risk) in RISKS.items():
            if (model.setting(name) or "").lower() not in ("off", "false", "no", "0"):
                continue
            yield self.finding(
                severity=severity,
                title=f"{name} is off: {proposed} -> crash safety",
                detail=f"{name} = off. {risk}. The change {applies(model, name)}.",
                object=ObjectRef(),
                action=change(model, {name: proposed}),
                evidence=evidence(model, name, proposed),
                benefit=OUTAGE_BENEFIT,
            )


@register
class WalLevelMinimal(Rule):
    """wal_level is minimal: WAL cannot serve backups, archiving or standbys.

    What it detects:
        wal_level = minimal.

    Why it matters:
        With minimal WAL some bulk operations skip WAL entirely, so WAL cannot rebuild the
        database from a base backup: no archiving, no point-in-time recovery, no streaming
        standby, no pg_basebackup.

    Example:
        wal_level = minimal, max_wal_senders = 0

    What to do:
        Set wal_level = replica (the default) and max_wal_senders above zero; restart.

    Options:
        None.
    """

    code: ClassVar[str] = "BK006"
    name: ClassVar[str] = "backup.wal_level_minimal"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.HIGH

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if model.setting("wal_level") != "minimal":
            return
        values = {"wal_level": "replica"}
        if (model.setting("max_wal_senders") or "0") == "0":
            values["max_wal_senders"] = "10"
        yield self.finding(
            title="wal_level is minimal: no archiving, point-in-time recovery or standbys",
            detail=("wal_level = minimal leaves out of the WAL what a base backup needs to be "
                    "rolled forward, so WAL cannot be archived, streamed to a standby, or used "
                    f"by pg_basebackup. wal_level {applies(model, 'wal_level')}."),
            object=ObjectRef(),
            action=change(model, values),
            evidence=evidence(model, "wal_level", "replica"),
            benefit=OUTAGE_BENEFIT,
        )


@register
class DataChecksums(Rule):
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

    Options:
        None.
    """

    code: ClassVar[str] = "BK007"
    name: ClassVar[str] = "backup.data_checksums"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.MEDIUM

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
