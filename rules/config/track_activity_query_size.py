"""Application statements are longer than track_activity_query_size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import Statement
from pgsage.rules._support.settings import applies, change, display, evidence
from pgsage.rules.base import Rule, register


@register
class QueryTextsTruncated(Rule["QueryTextsTruncated.Options"]):
    """Application statements are longer than track_activity_query_size.

    What it detects:
        Statements on user tables (from pg_stat_statements, which keeps whole texts) at
        least `min_statements` of which are longer, in bytes, than track_activity_query_size:
        pg_stat_activity shows them cut. Texts in pg_stat_statements are normalized
        (constants replaced by $n), so the texts the sessions run are longer still.
        Only the statements someone reads in pg_stat_activity count: bulk loads (COPY,
        an INSERT with `bulk_rows` rows or more in its VALUES list, as pgbench -i,
        sysbench prepare and batch inserts send) are long by nature, need no reading, and
        are left out, as are pgsage's own catalog reads.

    Why it matters:
        pg_stat_activity.query is what anyone looks at during an incident (which statement
        is blocking, what is running for an hour), and what monitoring samples. A cut text
        ends before its WHERE clause and cannot be matched to its statement.

    Example:
        track_activity_query_size = 1024 with 3 kB ORM-generated SELECTs

    What to do:
        Raise track_activity_query_size to the next power of two above the longest text
        (restart needed; the memory is the value times max_connections, kilobytes).
    """

    code: ClassVar[str] = "CF019"
    name: ClassVar[str] = "config.track_activity_query_size"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_statements: int = field(default=1, metadata={
            "help": "how many long statements make a finding."})
        bulk_rows: int = field(default=10, metadata={
            "help": "rows of an INSERT ... VALUES from which it is a bulk load, not counted."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        limit = model.setting_bytes("track_activity_query_size")
        if limit is None or model.statements.empty:
            return
        lengths: dict[int, int] = {}
        for queryid, statement in model.workload.statements.items():
            if matters(statement, options):
                lengths[queryid] = len(statement.text.encode())
        long = {q: n for q, n in lengths.items() if n >= limit}
        if len(long) < options.min_statements:
            return
        longest = max(long.values())
        proposed = 1 << max(longest, limit).bit_length()
        proposed = min(proposed, 1024 * 1024)
        text = f"{proposed // 1024}kB"
        yield self.finding(
            title=f"{len(long)} statements are cut in pg_stat_activity: "
                  f"track_activity_query_size {display(model, 'track_activity_query_size')} "
                  f"-> {text}",
            detail=(f"{len(long)} of {len(lengths)} application statements are longer than "
                    f"track_activity_query_size ({limit} bytes), the longest {longest:,} bytes "
                    "even normalized: pg_stat_activity (what you look at during an incident) "
                    "shows them cut before the end. The change "
                    f"{applies(model, 'track_activity_query_size')}; it "
                    f"costs {text} of shared memory per connection slot."),
            object=ObjectRef(),
            action=change(model, {"track_activity_query_size": text}),
            impact={"queryids": sorted(long, key=lambda q: -long[q])[:10]},
            evidence=evidence(model, "track_activity_query_size", text,
                              long_statements=len(long), longest_bytes=longest),
        )


def matters(statement: Statement, options: QueryTextsTruncated.Options) -> bool:
    """A statement whose text someone reads during an incident: one on application tables
    (not a catalog read, pgsage's own included) that is not a bulk load."""
    return bool(statement.tables) and statement.values_rows < options.bulk_rows
