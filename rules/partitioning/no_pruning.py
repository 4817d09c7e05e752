"""Statements on a partitioned table that never filter on its partition key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import Use
from pgsage.rules._support.workload import short, statements_on, workload_ms
from pgsage.rules.base import Rule, register
from pgsage.rules.partitioning._existing import children, key_columns, partitioned

PRUNING_USES = {Use.EQ, Use.IN, Use.RANGE, Use.NULL, Use.JOIN, Use.LIKE_PREFIX}


@register
class NoPartitionPruning(Rule["NoPartitionPruning.Options"]):
    """Statements on a partitioned table that never filter on its partition key.

    What it detects:
        Statements called at least `min_calls` times on a partitioned table with at least
        `min_partitions` partitions whose conditions (WHERE or joins) never mention a
        partition key column: every call plans and scans every partition. Medium when
        such statements take at least `medium_share` of statement time.

    Why it matters:
        Partitioning pays off through pruning; a statement that cannot prune does the
        work of all partitions (and their index lookups one by one), plans for each and
        locks each.

    Example:
        events PARTITION BY RANGE (created_at), 365 partitions;
        SELECT * FROM events WHERE user_id = $1   -- 365 index scans

    What to do:
        Add a condition on the key where the application knows it (`AND created_at >=
        $2`); if most statements cannot, the key does not fit the workload: choose the
        column most statements filter on.
    """

    code: ClassVar[str] = "PT003"
    name: ClassVar[str] = "partitioning.no_pruning"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=10, metadata={
            "help": "calls of a statement over the window."})
        min_partitions: int = field(default=4, metadata={"help": "partitions the table needs."})
        medium_share: float = field(default=0.1, metadata={
            "help": "share of statement time for medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = model.totals
        total = workload_ms(found) or 1.0
        for parent in partitioned(model):
            keys = key_columns(parent)
            parts = children(model, parent)
            if not keys or len(parts) < options.min_partitions:
                continue
            misses = []
            for st in statements_on(model, parent.relid):
                t = found.get(st.queryid)
                if t is None or t.calls < options.min_calls:
                    continue
                ref = next(r for r in st.tables if r.relid == parent.relid)
                if any(u.column in keys and u.use in PRUNING_USES and not u.in_or
                       for u in st.uses_of(ref)):
                    continue
                misses.append((st, t))
            if not misses:
                continue
            spent = sum(t.total_ms for _, t in misses)
            listed = "\n".join(f"  - queryid {t.queryid} ({t.calls:,} calls, "
                               f"{t.mean_exec_ms:,.2f} ms mean): {short(st.text, 150)}"
                               for st, t in misses[:5])
            yield self.finding(
                severity=(Severity.MEDIUM if spent / total >= options.medium_share
                          else self.severity),
                title=f"{len(misses)} statement(s) on {parent.name} cannot prune its "
                      f"{len(parts)} partitions (no condition on {', '.join(keys)})",
                detail=(f"{parent.name} is partitioned by {parent.partition_key}, but these "
                        f"statements never filter or join on {', '.join(keys)}, so each call "
                        f"plans, locks and scans all {len(parts)} partitions "
                        f"({spent / 1000:,.1f} s over {model.window.describe()}). Add a "
                        "condition on the key where the application knows it; if most "
                        "statements cannot, partition by the column they do filter on.\n"
                        f"{listed}"),
                object=ObjectRef(parent.schema, parent.name, None, tuple(keys)),
                impact={"queryids": [t.queryid for _, t in misses]},
                evidence={"partition_key": parent.partition_key, "partitions": len(parts),
                          "statements": len(misses), "total_ms": round(spent, 1)},
                benefit=spent,
            )
