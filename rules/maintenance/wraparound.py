"""A database is far into its transaction ID (or multixact ID) space."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, vacuum
from pgsage.collectors.databases import Database
from pgsage.collectors.tables import TableStats
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance._horizon import xmin_holders

WRAPAROUND_LIMIT = 2**31 - 1
"""Transaction IDs (and multixact IDs) a database can be behind before wraparound."""


@register
class Wraparound(Rule["Wraparound.Options"]):
    """A database is far into its transaction ID (or multixact ID) space.

    What it detects:
        Databases whose oldest unfrozen transaction ID (age(datfrozenxid)) or multixact
        ID (mxid_age(datminmxid)) has used `warn_ratio` of the 2^31 limit (high), or
        `critical_ratio` (critical). For the database pgsage is connected to, the tables
        with the oldest unfrozen rows are named.

    Why it matters:
        PostgreSQL must freeze old rows before IDs wrap around. When a database gets
        within 40 million (3 million, from 14) of the limit it refuses new transactions
        until a manual VACUUM finishes: a full outage that can last hours on a large
        database. Autovacuum normally freezes at autovacuum_freeze_max_age (200 million);
        ages far beyond that mean freezing is blocked or cannot keep up.

    Example:
        age(datfrozenxid) = 1.2 billion on the main database

    What to do:
        VACUUM (FREEZE) the oldest tables first, after ending whatever holds the xmin
        horizon (long transactions, inactive slots, prepared transactions), then find out
        why autovacuum did not (cancelled by locks, cost limits, too few workers).
    """

    code: ClassVar[str] = "MT012"
    name: ClassVar[str] = "maintenance.wraparound"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        warn_ratio: float = field(default=0.5, metadata={
            "help": "share of the limit from which a database is high."})
        critical_ratio: float = field(default=0.8, metadata={
            "help": "share of the limit from which it is critical."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        current = model.server.database if model.server else model.snapshot.target.database
        for db in model.databases:
            for kind, age in (("transaction ID", db.frozenxid_age),
                              ("multixact ID", db.minmxid_age)):
                ratio = age / WRAPAROUND_LIMIT
                if ratio < options.warn_ratio:
                    continue
                yield self._finding(model, db, kind, age, ratio, db.datname == current,
                                    Severity.CRITICAL if ratio >= options.critical_ratio
                                    else self.severity)

    def _finding(self, model: Model, db: Database, kind: str, age: int, ratio: float,
                 here: bool, severity: Severity) -> Recommendation:
        xid = kind == "transaction ID"
        oldest: list[TableStats] = []
        if here:
            def age_of(t: TableStats) -> int:
                return (t.frozenxid_age if xid else t.minmxid_age) or 0

            oldest = sorted((t for t in model.tables.values() if age_of(t) > 0), key=age_of,
                            reverse=True)[:5]
        holders = xmin_holders(model)
        if oldest:
            sql = "\n".join(vacuum(t.schema, t.name, "FREEZE", "VERBOSE") for t in oldest)
            shell = None
        else:
            sql = f"-- connected to database {ident(db.datname)}:\nVACUUM (FREEZE, VERBOSE);"
            shell = f"vacuumdb --freeze --jobs=4 --dbname={shlex.quote(db.datname)}"
        tables = (" Oldest tables here: " + ", ".join(
            f"{t.schema}.{t.name} ({(t.frozenxid_age if xid else t.minmxid_age) or 0:,})"
            for t in oldest) + "." if oldest else "")
        blocker = (f" The xmin horizon is held by {holders[0][0]} ({holders[0][1]:,} "
                   "transactions): end it first or freezing cannot advance." if holders else "")
        return self.finding(
            severity=severity,
            title=f"Database {db.datname} has used {ratio:.0%} of its {kind} space",
            detail=(f"Database {db.datname} is {age:,} {kind}s behind ({ratio:.1%} of the "
                    f"{WRAPAROUND_LIMIT:,} limit; {WRAPAROUND_LIMIT - age:,} left). Near the "
                    "limit PostgreSQL stops accepting transactions until a manual VACUUM "
                    f"completes.{tables}{blocker}"),
            object=ObjectRef(),
            action=Action(sql=sql, shell=shell),
            evidence={"database": db.datname, "kind": kind, "age": age,
                      "ratio": round(ratio, 4), "remaining": WRAPAROUND_LIMIT - age,
                      "oldest_tables": [f"{t.schema}.{t.name}" for t in oldest]},
            benefit=OUTAGE_BENEFIT * ratio,
        )
