"""A transaction has been open for a long time and holds back the xmin horizon."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import format_duration
from pgsage.collectors.activity import Backend
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance._horizon import HOLDING_BACKENDS


@register
class LongTransaction(Rule["LongTransaction.Options"]):
    """A transaction has been open for a long time and holds back the xmin horizon.

    What it detects:
        Client sessions whose transaction has been open for at least `min_seconds`, or
        whose snapshot is at least `min_xmin_age` transactions old; high from
        `high_seconds` or ten times `min_xmin_age`.

    Why it matters:
        Vacuum can only remove row versions that no snapshot can still see. While one
        transaction is open, dead rows accumulate in every table of the database (bloat,
        slower scans, index growth), and its locks may block DDL and, behind the DDL,
        everyone else. Past a point, transaction ID wraparound comes closer too.

    Example:
        A session "idle in transaction" since yesterday: BEGIN; SELECT ...; (no COMMIT)

    What to do:
        Find out from its owner what it is, then end it with pg_terminate_backend (the
        transaction is rolled back). Prevent it with idle_in_transaction_session_timeout
        for the application's role (CF021 proposes it).
    """

    code: ClassVar[str] = "MT016"
    name: ClassVar[str] = "maintenance.long_transaction"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_seconds: float = field(default=600.0, metadata={
            "help": "transaction age from which a session is reported."})
        high_seconds: float = field(default=3600.0, metadata={
            "help": "transaction age from which it is high."})
        min_xmin_age: int = field(default=10_000_000, metadata={
            "help": "snapshot age in transactions from which a session is reported."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for b in sorted(model.activity, key=lambda b: -(b.xact_start_age or 0.0)):
            if b.backend_type not in HOLDING_BACKENDS or b.xact_start_age is None:
                continue
            age, xmin = b.xact_start_age, b.backend_xmin_age or 0
            if age < options.min_seconds and xmin < options.min_xmin_age:
                continue
            high = age >= options.high_seconds or xmin >= 10 * options.min_xmin_age
            yield self._finding(b, age, xmin, Severity.HIGH if high else self.severity)

    def _finding(self, b: Backend, age: float, xmin: int, severity: Severity) -> Recommendation:
        who = (f"{b.usename or '?'} from {b.client_addr or 'a local socket'} "
               f"(application {b.application_name or 'unnamed'})")
        waiting = f", waiting on {b.wait_event_type}/{b.wait_event}" if b.wait_event else ""
        return self.finding(
            severity=severity,
            title=f"Transaction open for {format_duration(age)} in backend {b.pid} "
                  f"({b.state})",
            detail=(f"Backend {b.pid}, {who}, has had a transaction open for "
                    f"{format_duration(age)} and is {b.state}{waiting}; its snapshot is "
                    f"{xmin:,} transactions old. Until it ends, vacuum cannot remove any row "
                    "deleted or updated since it began, in any table of the database. Ask "
                    "its owner, then terminate it (the transaction rolls back)."),
            object=ObjectRef(),
            action=Action(sql=f"SELECT pg_terminate_backend({int(b.pid)});"),
            evidence={"pid": b.pid, "usename": b.usename,
                      "application_name": b.application_name, "client_addr": b.client_addr,
                      "state": b.state, "xact_age_seconds": round(age, 1),
                      "backend_xmin_age": xmin, "wait_event": b.wait_event},
            benefit=age,
        )
