"""wal_level is minimal: WAL cannot serve backups, archiving or standbys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules._support.settings import applies, change, evidence
from pgsage.rules.base import NoOptions, Rule, register


@register
class WalLevelMinimal(Rule[NoOptions]):
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
    """

    code: ClassVar[str] = "BK006"
    name: ClassVar[str] = "backup.wal_level_minimal"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.HIGH
    Options = NoOptions

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
