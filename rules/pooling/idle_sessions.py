"""Sessions stay idle for hours with no idle_session_timeout to close them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import format_duration, parse_duration
from pgsage.collectors.activity import Backend
from pgsage.rules.base import Rule, register
from pgsage.rules.pooling._pooler import clients, pooler_in_front


@register
class IdleSessions(Rule["IdleSessions.Options"]):
    """Sessions stay idle for hours with no idle_session_timeout to close them.

    What it detects:
        At least `min_idle` client sessions idle (not in a transaction) for at least
        `idle_seconds`, when idle_session_timeout is not set, neither for the server nor
        for their role, and no pooler is in front. Proposes idle_session_timeout for
        the roles involved.

    Why it matters:
        An idle connection still holds a backend process, its memory and a slot under
        max_connections; forgotten ones pile up (crashed clients behind a NAT, consoles
        left open) until new connections are refused.

    Example:
        35 sessions of role app idle for 3 to 40 hours

    What to do:
        Set idle_session_timeout for those roles (the action; new sessions pick it up).
        A client-side pool (HikariCP, SQLAlchemy) must then validate connections or
        retire them earlier (maxLifetime, pool_recycle); a pooler such as PgBouncer
        (PL001) manages this itself.
    """

    code: ClassVar[str] = "PL002"
    name: ClassVar[str] = "pooling.idle_sessions"
    category: ClassVar[Category] = Category.POOLING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        idle_seconds: float = field(default=3600.0, metadata={
            "help": "idle time from which a session counts."})
        min_idle: int = field(default=10, metadata={"help": "sessions that must be that idle."})
        timeout: str = field(default="2h", metadata={"help": "the idle_session_timeout proposed."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        seconds = parse_duration(options.timeout)
        if (model.setting_ms("idle_session_timeout") or 0) > 0 or pooler_in_front(model):
            return
        idle: dict[str, list[Backend]] = defaultdict(list)
        for b in clients(model):
            if b.state == "idle" and (b.state_change_age or 0.0) >= options.idle_seconds:
                idle[b.usename or "?"].append(b)
        roles = {r: bs for r, bs in idle.items() if r != "?" and not _role_sets(model, r)}
        count = sum(len(bs) for bs in roles.values())
        if count < options.min_idle:
            return
        value = f"{int(seconds // 60)}min" if seconds >= 60 else f"{int(seconds)}s"
        sql = "\n".join(f"ALTER ROLE {ident(r)} SET idle_session_timeout = {literal(value)};"
                        for r in sorted(roles))
        undo = "\n".join(f"ALTER ROLE {ident(r)} RESET idle_session_timeout;"
                         for r in sorted(roles))
        longest = max(b.state_change_age or 0.0 for bs in roles.values() for b in bs)
        yield self.finding(
            title=f"{count} sessions idle for over {format_duration(options.idle_seconds)}: "
                  f"idle_session_timeout = {value}",
            detail=(f"{count} client sessions of {', '.join(sorted(roles))} have been idle for "
                    f"{format_duration(options.idle_seconds)} to {format_duration(longest)}, and "
                    "no idle_session_timeout applies to them. Each holds a process and a "
                    f"connection slot. Set idle_session_timeout = {value} for these roles; "
                    "client-side pools must validate or recycle connections sooner."),
            object=ObjectRef(),
            action=Action(sql=sql, undo_sql=undo),
            evidence={"idle_sessions": count, "longest_idle_s": round(longest, 1),
                      "roles": {r: len(bs) for r, bs in roles.items()}, "proposed": value},
            benefit=float(count),
        )


def _role_sets(model: Model, role: str) -> bool:
    found = model.roles.get(role)
    for entry in found.config if found else ():
        key, _, value = entry.partition("=")
        if key == "idle_session_timeout" and value not in ("0", ""):
            return True
    return False
