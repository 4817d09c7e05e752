"""pg_stat_statements evicts entries: pg_stat_statements.max is too small."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.collectors.statements import StatementStats
from pgsage.collectors.statements_info import StatementsInfoStats
from pgsage.rules._support.settings import applies, change, evidence
from pgsage.rules.base import NoOptions, Rule, register

STEPS = (5000, 10000, 20000, 50000, 100000)


@register
class StatementsEvicted(Rule[NoOptions]):
    """pg_stat_statements evicts entries: pg_stat_statements.max is too small.

    What it detects:
        pg_stat_statements_info.dealloc above zero over the window (since the last reset
        without a baseline): entries were thrown away to make room for new statements.

    Why it matters:
        Evicted statements lose their counters and come back as new entries; the least
        used are evicted first, but then every reading undercounts, and a workload with
        many distinct statements (unparameterised literals, IN lists of varying length
        before 18) churns the table and rewrites the query text file constantly.

    Example:
        pg_stat_statements.max = 100, dealloc = 4312

    What to do:
        Raise pg_stat_statements.max (restart needed: the table is in shared memory, about
        1 kB per entry plus the texts). With pg_stat_statements.track = all, nested
        statements take entries too: `top` may be enough.
    """

    code: ClassVar[str] = "CF018"
    name: ClassVar[str] = "config.pg_stat_statements_max"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        info = model.statements_info
        value = model.setting("pg_stat_statements.max")
        if info is None or value is None:
            return
        evicted = info.dealloc
        over = "since pg_stat_statements was last reset"
        if model.baseline is not None:
            before = model.baseline.one("statements_info", StatementsInfoStats)
            if before is not None and before.dealloc <= info.dealloc:
                evicted = info.dealloc - before.dealloc
                over = model.window.describe()
        if evicted <= 0:
            return
        current = int(value)
        proposed = str(next((s for s in STEPS if s >= 2 * current), current * 2))
        track = model.setting("pg_stat_statements.track")
        track_note = (" pg_stat_statements.track is `all`, so statements nested in functions "
                      "take entries too; `top` may be enough." if track == "all" else "")
        yield self.finding(
            title=f"pg_stat_statements evicted {evicted:,} entries: "
                  f"pg_stat_statements.max {current} -> {proposed}",
            detail=(f"pg_stat_statements deallocated entries {evicted:,} times {over}: it "
                    f"holds at most {current} statements and had to forget the least used to "
                    "make room, so counters are lost and statements reappear as new."
                    f"{track_note} The change "
                    f"{applies(model, 'pg_stat_statements.max')}."),
            object=ObjectRef(),
            action=change(model, {"pg_stat_statements.max": proposed}),
            evidence=evidence(model, "pg_stat_statements.max", proposed, dealloc=evicted,
                              entries_in_this_database=len(
                                  model.snapshot.rows("statements", StatementStats)),
                              track=track),
            benefit=float(evicted),
        )
