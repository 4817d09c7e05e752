"""Archived WAL lags behind the recovery-point objective."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import format_bytes, format_duration
from pgsage.rules._support.settings import applies, change, display, evidence
from pgsage.rules.backup._archiving import archiving_configured, streaming_archiver
from pgsage.rules.base import Rule, register

_SEGMENT = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$")


def segment_end(name: str | None, segment_size: int) -> int | None:
    """The WAL position (bytes) right after a segment file `000000010000000A0000003F`."""
    match = _SEGMENT.match(name or "")
    if not match or segment_size <= 0:
        return None
    log, seg = int(match.group(2), 16), int(match.group(3), 16)
    return (log * (0x100000000 // segment_size) + seg + 1) * segment_size


@register
class RecoveryPointObjective(Rule["RecoveryPointObjective.Options"]):
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
    """

    code: ClassVar[str] = "BK003"
    name: ClassVar[str] = "backup.recovery_point_objective"
    category: ClassVar[Category] = Category.BACKUP
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        rpo_seconds: float = field(default=3600.0, metadata={
            "help": "the recovery-point objective in seconds (`--rpo 15min`)."})

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
                      f"{'off' if timeout <= 0 else display(model, 'archive_timeout')} -> "
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
