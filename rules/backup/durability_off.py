"""fsync, full_page_writes or synchronous_commit is off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules._support.settings import applies, change, evidence
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
class DurabilityOff(Rule[NoOptions]):
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
    """

    code: ClassVar[str] = "BK008"
    name: ClassVar[str] = "backup.durability_off"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.CRITICAL
    Options = NoOptions

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
