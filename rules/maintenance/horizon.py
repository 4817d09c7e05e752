"""What holds back the xmin horizon and WAL removal: long transactions, inactive replication
slots, forgotten prepared transactions. Each keeps vacuum from removing dead rows in every
table, and slots also keep WAL on disk until it fills."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import format_bytes, format_duration
from pgsage.collectors.activity import Backend
from pgsage.rules._settings import GB
from pgsage.rules.base import Rule, register

HOLDING_BACKENDS = (None, "client backend", "parallel worker", "background worker")


def xmin_holders(model: Model) -> list[tuple[str, int]]:
    """Everything holding the xmin horizon, as (description, xid age), oldest first."""
    found: list[tuple[str, int]] = []
    for b in model.activity:
        if b.backend_xmin_age and b.backend_type in HOLDING_BACKENDS:
            found.append((f"backend {b.pid} ({b.usename}, {b.state})", b.backend_xmin_age))
    for s in model.replication_slots:
        age = max(s.xmin_age or 0, s.catalog_xmin_age or 0)
        if age:
            found.append((f"replication slot {s.slot_name}", age))
    for p in model.prepared_xacts:
        found.append((f"prepared transaction {p.gid!r}", p.xid_age))
    for r in model.replicas:
        if r.backend_xmin_age:
            found.append((f"standby {r.application_name} (hot_standby_feedback)",
                          r.backend_xmin_age))
    return sorted(found, key=lambda h: -h[1])


@register
class LongTransaction(Rule):
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

    Options:
        min_seconds: transaction age from which a session is reported.
        high_seconds: transaction age from which it is high.
        min_xmin_age: snapshot age in transactions from which a session is reported.
    """

    code: ClassVar[str] = "MT016"
    name: ClassVar[str] = "maintenance.long_transaction"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_seconds: float = 600.0
        high_seconds: float = 3600.0
        min_xmin_age: int = 10_000_000

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


@register
class InactiveReplicationSlot(Rule):
    """A replication slot is not in use and keeps WAL (and maybe dead rows) around.

    What it detects:
        Permanent replication slots that are not active. High when the WAL they retain
        reaches `high_bytes`, when the slot has already made the server keep more WAL than
        max_wal_size (wal_status `extended` or `unreserved`), or when it holds back the
        xmin horizon; medium otherwise. A slot already `lost` is medium: it is useless
        and only needs dropping.

    Why it matters:
        A slot makes the server keep every WAL segment its consumer has not confirmed,
        forever unless max_slot_wal_keep_size is set: an abandoned slot fills the WAL disk
        and the server stops. A logical slot (or a physical one with
        hot_standby_feedback) also holds back vacuum for the whole cluster.

    Example:
        SELECT pg_create_physical_replication_slot('old_standby', true);  -- never used

    What to do:
        If its standby or subscriber is gone, drop the slot. If it is coming back, make
        sure it does soon, and set max_slot_wal_keep_size so a lost consumer cannot fill
        the disk.

    Options:
        high_bytes: retained WAL from which the finding is high.
    """

    code: ClassVar[str] = "MT017"
    name: ClassVar[str] = "maintenance.inactive_replication_slot"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        high_bytes: int = 1 * GB

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        keep = model.setting("max_slot_wal_keep_size")
        for s in model.replication_slots:
            if s.active or s.temporary:
                continue
            retained = s.retained_bytes
            xmin = max(s.xmin_age or 0, s.catalog_xmin_age or 0)
            lost = s.wal_status == "lost" or bool(s.invalidation_reason)
            high = not lost and ((retained or 0) >= options.high_bytes or xmin > 0
                                 or s.wal_status in ("extended", "unreserved"))
            idle = model.snapshot.taken_at - s.inactive_since if s.inactive_since else None
            since = f", inactive for {format_duration(idle)}" if idle is not None else ""
            parts = [f"The {s.slot_type} replication slot {s.slot_name}"
                     + (f" (plugin {s.plugin}, database {s.database})" if s.plugin else "")
                     + f" is not in use{since}."]
            if lost:
                parts.append("Its WAL was already removed (wal_status lost"
                             + (f", {s.invalidation_reason}" if s.invalidation_reason else "")
                             + "): it can never be used again; drop it.")
            else:
                parts.append(f"It retains {format_bytes(retained)} of WAL (wal_status "
                             f"{s.wal_status}), growing with every write until its consumer "
                             "returns or the disk is full.")
            if xmin:
                parts.append(f"It also holds the xmin horizon {xmin:,} transactions back: "
                             "vacuum cannot remove dead rows newer than that in any table.")
            if keep in ("-1", None):
                parts.append("max_slot_wal_keep_size is -1 (unlimited); setting it caps what "
                             "a lost consumer can retain.")
            parts.append("Drop it if its standby or subscriber is gone for good.")
            yield self.finding(
                severity=Severity.HIGH if high else self.severity,
                title=f"Inactive replication slot {s.slot_name} retains "
                      f"{format_bytes(retained)} of WAL",
                detail=" ".join(parts),
                object=ObjectRef(),
                action=Action(sql=f"SELECT pg_drop_replication_slot({literal(s.slot_name)});"),
                evidence={"slot_name": s.slot_name, "slot_type": s.slot_type,
                          "retained_bytes": retained, "wal_status": s.wal_status,
                          "xmin_age": s.xmin_age, "catalog_xmin_age": s.catalog_xmin_age,
                          "max_slot_wal_keep_size": keep},
                benefit=float(retained or 0) + xmin,
            )


@register
class PreparedTransactionLeftBehind(Rule):
    """A prepared (two-phase) transaction was never committed or rolled back.

    What it detects:
        Transactions prepared with PREPARE TRANSACTION at least `min_seconds` ago.

    Why it matters:
        A prepared transaction survives disconnects and restarts. Until someone resolves
        it, it holds its locks (blocking whatever touches those rows or tables) and the
        xmin horizon (vacuum cannot clean anything newer anywhere in the cluster). It is
        usually left by a crashed transaction manager.

    Example:
        BEGIN; UPDATE ...; PREPARE TRANSACTION 'tx-42';   -- coordinator died

    What to do:
        Ask the transaction manager whether it committed elsewhere; then COMMIT PREPARED or
        ROLLBACK PREPARED it, connected to its database as its owner or a superuser. If
        two-phase commit is not used at all, set max_prepared_transactions = 0.

    Options:
        min_seconds: age from which a prepared transaction is reported.
    """

    code: ClassVar[str] = "MT018"
    name: ClassVar[str] = "maintenance.prepared_transaction"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        min_seconds: float = 300.0

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for p in model.prepared_xacts:
            if p.prepared_age < options.min_seconds:
                continue
            db = ident(p.database) if p.database else "its database"
            yield self.finding(
                title=f"Prepared transaction {p.gid!r} left for "
                      f"{format_duration(p.prepared_age)}",
                detail=(f"Transaction {p.gid!r} (owner {p.owner}, database {p.database}) was "
                        f"prepared {format_duration(p.prepared_age)} ago and never resolved. "
                        "It keeps its locks and holds the xmin horizon "
                        f"{p.xid_age:,} transactions back across the cluster. Check with the "
                        "transaction manager whether it committed elsewhere; the action rolls "
                        "it back (COMMIT PREPARED instead if it must commit)."),
                object=ObjectRef(),
                action=Action(sql=f"-- connected to database {db} as {p.owner or 'its owner'}:\n"
                                  f"ROLLBACK PREPARED {literal(p.gid)};"),
                evidence={"gid": p.gid, "owner": p.owner, "database": p.database,
                          "prepared_age_seconds": round(p.prepared_age, 1),
                          "xid_age": p.xid_age},
                benefit=p.prepared_age,
            )
