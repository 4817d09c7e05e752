"""WAL archiving is failing now."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import format_duration
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules.base import NoOptions, Rule, register


@register
class ArchiverFailing(Rule[NoOptions]):
    """WAL archiving is failing now.

    What it detects:
        pg_stat_archiver shows a failure more recent than the last success (or failures
        and no success at all).

    Why it matters:
        A segment that cannot be archived is retried forever and kept in pg_wal with
        every segment after it: point-in-time recovery stops at the last archived segment,
        and pg_wal grows until the disk is full and the server stops.

    Example:
        archive_command copies to a mount that disappeared: failed_count keeps rising

    What to do:
        Read the server log for "archive command failed" (it shows the exit code), fix the
        destination or the command, then check that last_archived_wal moves again.
    """

    code: ClassVar[str] = "BK002"
    name: ClassVar[str] = "backup.archiver_failing"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.CRITICAL
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        a = model.archiver
        if a is None or not a.failed_count or a.last_failed_time is None:
            return
        if a.last_archived_time is not None and a.last_archived_time >= a.last_failed_time:
            return
        now = model.snapshot.taken_at
        since = (f"the last success was {format_duration(now - a.last_archived_time)} ago "
                 f"({a.last_archived_wal})" if a.last_archived_time else
                 "no segment was ever archived successfully")
        yield self.finding(
            title=f"WAL archiving is failing ({a.failed_count:,} failures, last "
                  f"{format_duration(now - a.last_failed_time)} ago)",
            detail=(f"The archiver failed {a.failed_count:,} times, most recently on "
                    f"{a.last_failed_wal} {format_duration(now - a.last_failed_time)} ago; "
                    f"{since}. Until it succeeds, point-in-time recovery ends there and pg_wal "
                    "keeps growing toward a full disk. The server log says why (\"archive "
                    "command failed with exit code ...\")."),
            object=ObjectRef(),
            action=Action(sql="-- after fixing the command or its destination:\n"
                              "SELECT pg_switch_wal();\n"
                              "SELECT last_archived_wal, last_archived_time, last_failed_wal "
                              "FROM pg_stat_archiver;"),
            evidence={"failed_count": a.failed_count, "last_failed_wal": a.last_failed_wal,
                      "last_failed_age_seconds": round(now - a.last_failed_time, 1),
                      "last_archived_wal": a.last_archived_wal,
                      "archived_count": a.archived_count},
            benefit=OUTAGE_BENEFIT,
        )
