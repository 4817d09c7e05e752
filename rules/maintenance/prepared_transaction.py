"""A prepared (two-phase) transaction was never committed or rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import format_duration
from pgsage.rules.base import Rule, register


@register
class PreparedTransactionLeftBehind(Rule["PreparedTransactionLeftBehind.Options"]):
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
    """

    code: ClassVar[str] = "MT018"
    name: ClassVar[str] = "maintenance.prepared_transaction"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        min_seconds: float = field(default=300.0, metadata={
            "help": "age from which a prepared transaction is reported."})

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
