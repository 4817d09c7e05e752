"""Transactions stay open (idle or running) with no timeout to end them."""

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
from pgsage.rules._support.settings import change
from pgsage.rules.base import Rule, register
from pgsage.rules.config._connections import client_backends

IDLE_IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")


def _role_has(model: Model, role: str | None, name: str) -> str | None:
    found = model.roles.get(role or "")
    for entry in found.config if found else ():
        key, _, value = entry.partition("=")
        if key == name and value not in ("0", ""):
            return value
    return None


@register
class MissingTimeouts(Rule["MissingTimeouts.Options"]):
    """Transactions stay open (idle or running) with no timeout to end them.

    What it detects:
        Client sessions idle in a transaction for at least `idle_seconds`, or running one
        statement for at least `active_seconds`, grouped by role. Such a session proves
        that no idle_in_transaction_session_timeout (or statement_timeout) shorter than
        what was seen applies to it. Proposes per-role timeouts for the roles involved.

    Why it matters:
        An open transaction holds its locks and its snapshot: vacuum cannot remove rows
        deleted after it started anywhere in the database, tables bloat, and a DDL or a
        lock queue behind it stalls the application. A timeout ends forgotten
        transactions (a connection returned to a pool mid-transaction, a crashed worker,
        a console left open) automatically.

    Example:
        app session "idle in transaction" for 40 minutes, no timeout set

    What to do:
        Set idle_in_transaction_session_timeout (and statement_timeout where long
        statements were seen) for the application's role; per role rather than globally,
        so maintenance and reporting sessions keep their own limits. New sessions of the
        role pick it up.
    """

    code: ClassVar[str] = "CF021"
    name: ClassVar[str] = "config.timeouts"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        idle_seconds: float = field(default=60.0, metadata={
            "help": "idle-in-transaction time from which a session counts."})
        active_seconds: float = field(default=300.0, metadata={
            "help": "running time of one statement from which a session counts."})
        idle_timeout: str = field(default="5min", metadata={
            "help": "idle_in_transaction_session_timeout proposed."})
        statement_timeout: str = field(default="5min", metadata={
            "help": "statement_timeout proposed."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        idle: dict[str, list[Backend]] = defaultdict(list)
        active: dict[str, list[Backend]] = defaultdict(list)
        for b in client_backends(model.activity):
            age = b.state_change_age or 0.0
            if b.state in IDLE_IN_TRANSACTION and age >= options.idle_seconds:
                idle[b.usename or "?"].append(b)
            elif b.state == "active" and (b.query_start_age or 0.0) >= options.active_seconds:
                active[b.usename or "?"].append(b)
        parse_duration(options.idle_timeout)  # fail loudly on a bad option
        parse_duration(options.statement_timeout)
        for role in sorted(set(idle) | set(active)):
            yield self._finding(model, role, idle.get(role, []), active.get(role, []), options)

    def _finding(self, model: Model, role: str, idle: list[Backend], active: list[Backend],
                 options: Options) -> Recommendation:
        values: dict[str, str] = {}
        seen: list[str] = []
        if idle:
            longest = max(b.state_change_age or 0.0 for b in idle)
            values["idle_in_transaction_session_timeout"] = options.idle_timeout
            seen.append(f"{len(idle)} session(s) idle in a transaction, the longest for "
                        f"{format_duration(longest)} (pid "
                        f"{', '.join(str(b.pid) for b in idle[:5])})")
        if active:
            longest = max(b.query_start_age or 0.0 for b in active)
            values["statement_timeout"] = options.statement_timeout
            seen.append(f"{len(active)} statement(s) running for up to "
                        f"{format_duration(longest)} (pid "
                        f"{', '.join(str(b.pid) for b in active[:5])})")
        apps = sorted({b.application_name or "?" for b in idle + active})
        if role == "?":
            action = change(model, values)
            where = "globally (the role could not be read)"
        else:
            sql = "\n".join(f"ALTER ROLE {ident(role)} SET {k} = {literal(v)};"
                            for k, v in values.items())
            undo = " ".join(f"ALTER ROLE {ident(role)} RESET {k};" for k in values)
            action = Action(sql=sql, undo_sql=undo)
            where = f"for role {role} (new sessions pick it up)"
        db = model.database
        share = ""
        if db is not None and db.session_time > 0:
            share = (f" Over the statistics period, sessions of this database spent "
                     f"{db.idle_in_transaction_time / db.session_time:.1%} of their time idle "
                     "in a transaction.")
        configured = {k: _role_has(model, role, k) for k in values}
        return self.finding(
            title=f"Set {', '.join(values)} for role {role}: transactions held open",
            detail=(f"Role {role} ({', '.join(apps)}) has {'; '.join(seen)}. No timeout "
                    "shorter than that applies to these sessions, so a forgotten transaction "
                    "holds its locks and keeps vacuum from removing dead rows everywhere."
                    f"{share} Proposed {where}: "
                    + ", ".join(f"{k} = {v}" for k, v in values.items()) + "."),
            object=ObjectRef(),
            action=action,
            evidence={"role": role, "applications": apps, "proposed": values,
                      "role_settings": configured,
                      "idle_in_transaction_pids": [b.pid for b in idle],
                      "long_running_pids": [b.pid for b in active],
                      "restart_required": False},
            benefit=max([b.state_change_age or 0.0 for b in idle]
                        + [b.query_start_age or 0.0 for b in active]),
        )
