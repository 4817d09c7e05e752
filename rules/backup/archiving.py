"""WAL archiving: whether point-in-time recovery is possible, whether archiving works, and
how much would be lost against the recovery-point objective.

What SQL cannot show (where base backups go, whether a restore was ever tested) is asked
as questions in the report, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import format_bytes, format_duration
from pgsage.rules._settings import applies, change, evidence
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules.base import NoOptions, Rule, register

NO_OP_COMMANDS = {"true", "/bin/true", "/usr/bin/true", ":", "exit 0", "/bin/true %p",
                  "true %p", "cd .", "echo %p", "/bin/echo %p"}
"""archive_command values that report success without keeping anything."""
STREAMING_ARCHIVERS = ("pg_receivewal", "barman_receive_wal", "barman-wal-archive")
_SEGMENT = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$")
TOOLS = {"pgbackrest": "pgBackRest", "wal-g": "WAL-G", "wal-e": "WAL-E", "barman": "Barman",
         "pg_probackup": "pg_probackup", "rsync": "rsync", "cp ": "cp", "aws ": "aws cli",
         "gsutil": "gsutil", "azcopy": "azcopy", "scp ": "scp"}


def archive_tool(command: str) -> str | None:
    """The tool an archive_command uses, by name only (the command may hold credentials)."""
    lowered = f"{command.lower()} "
    return next((name for key, name in TOOLS.items() if key in lowered), None)


def streaming_archiver(model: Model) -> str | None:
    for r in model.replicas:
        if (r.application_name or "").lower().startswith(STREAMING_ARCHIVERS):
            return r.application_name
    return None


def archiving_configured(model: Model) -> bool:
    mode = model.setting("archive_mode") or "off"
    command = (model.setting("archive_command") or "").strip()
    library = (model.setting("archive_library") or "").strip()
    return mode in ("on", "always") and (bool(library) or (
        bool(command) and command not in NO_OP_COMMANDS))


def segment_end(name: str | None, segment_size: int) -> int | None:
    """The WAL position (bytes) right after a segment file `000000010000000A0000003F`."""
    match = _SEGMENT.match(name or "")
    if not match or segment_size <= 0:
        return None
    log, seg = int(match.group(2), 16), int(match.group(3), 16)
    return (log * (0x100000000 // segment_size) + seg + 1) * segment_size


@register
class NoWalArchiving(Rule):
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

    Options:
        None.

    References:
        https://www.postgresql.org/docs/current/continuous-archiving.html
    """

    code: ClassVar[str] = "BK001"
    name: ClassVar[str] = "backup.no_wal_archiving"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.HIGH

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if (model.server and model.server.in_recovery) or "archive_mode" not in model.settings:
            return
        if archiving_configured(model) or streaming_archiver(model):
            return
        mode = model.setting("archive_mode") or "off"
        command = (model.setting("archive_command") or "").strip()
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
        action = change(model, values)
        yield self.finding(
            title="No WAL archiving: point-in-time recovery is impossible",
            detail=(f"{problem}. A restore can then only return to the last base backup, "
                    "losing every change since. Set up a backup tool that archives WAL off "
                    "this host (the action uses pgBackRest's command: put your tool's); "
                    f"archive_mode {applies(model, 'archive_mode')}."),
            object=ObjectRef(),
            action=Action(sql=action.sql, undo_sql=action.undo_sql,
                          shell="pg_ctl restart -D \"$PGDATA\"  # or: systemctl restart "
                                "postgresql" if mode == "off" else None),
            evidence=evidence(model, "archive_mode", "on", archive_command_set=bool(command),
                              archive_library=model.setting("archive_library") or None),
            benefit=OUTAGE_BENEFIT,
        )

    def questions(self, model: Model, options: NoOptions) -> Iterable[str]:
        command = (model.setting("archive_command") or "").strip()
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


@register
class ArchiverFailing(Rule):
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

    Options:
        None.
    """

    code: ClassVar[str] = "BK002"
    name: ClassVar[str] = "backup.archiver_failing"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.CRITICAL

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


@register
class RecoveryPointObjective(Rule):
    """Archived WAL lags behind the recovery-point objective.

    What it detects:
        With archiving configured: WAL written since the last archived segment while that
        segment is older than `rpo_seconds` (what losing this host now would cost is
        more than the objective); or archive_timeout off or longer than the objective,
        so a quiet server can keep a partly filled segment unarchived for longer than
        the objective. Set the objective with `--rpo` (default 1 hour).

    Why it matters:
        WAL is archived a whole segment (16 MB by default) at a time. Changes still in the
        current segment exist only on this host; on a lightly written database a segment
        can take hours to fill.

    Example:
        last archived segment 3 hours ago, 9 MB written since, archive_timeout = 0

    What to do:
        Set archive_timeout to the objective (a reload suffices), or stream WAL
        continuously (pg_receivewal, Barman streaming, pgBackRest async with a standby).

    Options:
        rpo_seconds: the recovery-point objective in seconds (`--rpo 15min`).
    """

    code: ClassVar[str] = "BK003"
    name: ClassVar[str] = "backup.recovery_point_objective"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        rpo_seconds: float = 3600.0

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        if (model.server and model.server.in_recovery) or not archiving_configured(model):
            return
        if streaming_archiver(model):
            return
        rpo = options.rpo_seconds
        a, wal = model.archiver, model.wal
        now = model.snapshot.taken_at
        segment = model.setting_bytes("wal_segment_size") or 16 * 1024**2
        if a is not None and wal is not None and wal.current_lsn_bytes is not None:
            end = segment_end(a.last_archived_wal, segment)
            age = now - a.last_archived_time if a.last_archived_time else None
            pending = wal.current_lsn_bytes - end if end is not None else None
            if age is not None and age > rpo and pending and pending > 0:
                yield self.finding(
                    title=f"{format_bytes(pending)} of WAL older than the RPO "
                          f"({format_duration(rpo)}) is not archived",
                    detail=(f"The last archived segment ({a.last_archived_wal}) is "
                            f"{format_duration(age)} old and {format_bytes(pending)} of WAL has "
                            "been written since: if this host were lost now, those changes "
                            f"would be lost, more than the {format_duration(rpo)} objective. "
                            "Forcing a segment switch archives them now; archive_timeout "
                            "does it automatically."),
                    object=ObjectRef(),
                    action=Action(sql="SELECT pg_switch_wal();"),
                    evidence={"last_archived_wal": a.last_archived_wal,
                              "last_archived_age_seconds": round(age, 1),
                              "unarchived_bytes": pending, "rpo_seconds": rpo},
                    benefit=float(pending),
                )
        timeout = model.setting_ms("archive_timeout")
        if timeout is not None and (timeout <= 0 or timeout / 1000 > rpo):
            proposed = f"{int(rpo // 60)}min" if rpo >= 60 else f"{int(rpo)}s"
            yield self.finding(
                severity=Severity.MEDIUM,
                title=f"archive_timeout does not bound data loss to the RPO: "
                      f"{'off' if timeout <= 0 else format_duration(timeout / 1000)} -> "
                      f"{proposed}",
                detail=("WAL is archived a segment at a time; on a quiet server the current "
                        "segment may stay partly filled, and unarchived, for hours. "
                        f"archive_timeout = {proposed} forces a switch at least that often "
                        f"when anything was written, so at most {format_duration(rpo)} is at "
                        "risk (each forced switch archives a whole segment file, mostly "
                        f"empty). The change {applies(model, 'archive_timeout')}."),
                object=ObjectRef(),
                action=change(model, {"archive_timeout": proposed}),
                evidence=evidence(model, "archive_timeout", proposed, rpo_seconds=rpo),
            )
