"""WAL is not archived: no point-in-time recovery."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules._support.settings import applies, change, evidence
from pgsage.rules.backup._archiving import (
    NO_OP_COMMANDS,
    archive_command,
    archiving_configured,
    streaming_archiver,
)
from pgsage.rules.base import NoOptions, Rule, register

TOOLS = {"pgbackrest": "pgBackRest", "wal-g": "WAL-G", "wal-e": "WAL-E", "barman": "Barman",
         "pg_probackup": "pg_probackup", "rsync": "rsync", "cp ": "cp", "aws ": "aws cli",
         "gsutil": "gsutil", "azcopy": "azcopy", "scp ": "scp"}


def archive_tool(command: str) -> str | None:
    """The tool an archive_command uses, by name only (the command may hold credentials)."""
    lowered = f"{command.lower()} "
    return next((name for key, name in TOOLS.items() if key in lowered), None)


@register
class NoWalArchiving(Rule[NoOptions]):
    """WAL is not archived: no point-in-time recovery.

    What it detects:
        archive_mode = off; or archive_mode on with neither archive_command nor
        archive_library set (WAL then piles up in pg_wal, waiting); or an archive_command
        that keeps nothing (`true`, `:`, `exit 0`). A streaming archiver connected over
        replication (pg_receivewal, Barman) counts as archiving. Standbys are skipped.

    Why it matters:
        Without archived WAL, a restore can only go back to the last base backup: every
        change since is lost, and a mistaken DELETE cannot be undone to the minute before.
        Archiving plus base backups is what makes the recovery-point objective a number
        of minutes instead of a day.

    Example:
        archive_mode = off (the default)

    What to do:
        Use a backup tool (pgBackRest, WAL-G, Barman) that archives WAL to storage off the
        host and takes base backups; archive_mode needs a restart. The action shows
        pgBackRest's archive_command: replace it with your tool's.
    References:
        https://www.postgresql.org/docs/current/continuous-archiving.html
    """

    code: ClassVar[str] = "BK001"
    name: ClassVar[str] = "backup.no_wal_archiving"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.HIGH
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if (model.server and model.server.in_recovery) or "archive_mode" not in model.settings:
            return
        if archiving_configured(model) or streaming_archiver(model):
            return
        mode = model.setting("archive_mode") or "off"
        command = archive_command(model)
        if mode == "off":
            problem = "archive_mode is off: WAL is never archived"
        elif command in NO_OP_COMMANDS:
            problem = (f"archive_command is `{command}`: it reports success and keeps nothing, "
                       "so the server discards WAL it believes archived")
        else:
            problem = ("archive_mode is on but archive_command and archive_library are empty: "
                       "nothing is archived and WAL accumulates in pg_wal until one is set")
        values = {"archive_command": "pgbackrest --stanza=main archive-push %p"}
        if mode == "off":
            values = {"archive_mode": "on", **values}
        yield self.finding(
            title="No WAL archiving: point-in-time recovery is impossible",
            detail=(f"{problem}. A restore can then only return to the last base backup, "
                    "losing every change since. Set up a backup tool that archives WAL off "
                    "this host (the action uses pgBackRest's command: put your tool's); "
                    f"archive_mode {applies(model, 'archive_mode')}."),
            object=ObjectRef(),
            action=change(model, values),
            evidence=evidence(model, "archive_mode", "on", archive_command_set=bool(command),
                              archive_library=model.setting("archive_library") or None),
            benefit=OUTAGE_BENEFIT,
        )

    def questions(self, model: Model, options: NoOptions) -> Iterable[str]:
        command = archive_command(model)
        tool = archive_tool(command) if command else None
        where = (f" (archive_command uses {tool})" if tool
                 else " (archive_library " + str(model.setting("archive_library")) + ")"
                 if model.setting("archive_library") else "")
        yield ("Where do base backups and archived WAL go" + where + ": on another host, in "
               "another region or account, out of reach of someone who can delete this "
               "server?")
        yield ("How often is a base backup taken, and how long are backups and WAL kept? "
               "Is the retention longer than the time it takes to notice a bad change?")
        yield ("When was a restore last tested end to end (base backup plus WAL replay to a "
               "chosen time), and how long did it take compared with the recovery-time "
               "objective?")
        yield "Who is alerted when archiving or a backup fails, and how quickly?"
