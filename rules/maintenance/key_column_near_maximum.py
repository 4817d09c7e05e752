"""MT013: integer key columns not fed by a sequence, close to their type's maximum.

MT001 covers keys fed by sequences (serial, identity); this covers keys whose values come
from elsewhere (the application, another system, a hash), judged by the largest value
pg_stats saw at the last ANALYZE.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import alter_column_types
from pgsage.collectors.key_ranges import KeyRange
from pgsage.rules._stats import OUTAGE_BENEFIT
from pgsage.rules._support.catalog import INT_MAX, foreign_keys
from pgsage.rules.base import Rule, register

WIDER = {"smallint": "integer", "integer": "bigint"}


@register
class KeyColumnNearMaximum(Rule["KeyColumnNearMaximum.Options"]):
    """An integer key column without a sequence is close to its type's maximum.

    What it detects:
        Single-column primary, unique and foreign keys of type smallint, integer or bigint
        that no sequence or identity feeds, whose largest value in pg_stats has used
        `warn_ratio` of the type's range (high) or `critical_ratio` (critical).

    Why it matters:
        The next value past the maximum fails the insert ("integer out of range"), and the
        application that computes the keys fails with it. Widening a large table's column
        and its foreign keys rewrites them under an exclusive lock: it needs lead time.

    Example:
        external_id integer UNIQUE, values assigned by a partner system, now 1.9 billion

    What to do:
        Widen the column (and the columns that reference it, or that it references) to the
        next integer type; for bigint, find where the values come from. Statistics are as
        of the last ANALYZE: check the real maximum with SELECT max(col) first.
    """

    code: ClassVar[str] = "MT013"
    name: ClassVar[str] = "maintenance.key_column_near_maximum"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        warn_ratio: float = field(default=0.75, metadata={
            "help": "share of the range from which a key is reported (high)."})
        critical_ratio: float = field(default=0.9, metadata={
            "help": "share from which it is critical."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for key in model.key_ranges:
            limit = INT_MAX.get(key.type)
            if key.fed_by_sequence or key.max_value is None or limit is None:
                continue
            ratio = key.max_value / limit
            if ratio < options.warn_ratio:
                continue
            yield self._finding(model, key, limit, ratio,
                                Severity.CRITICAL if ratio >= options.critical_ratio
                                else self.severity)

    def _finding(self, model: Model, key: KeyRange, limit: int, ratio: float,
                 severity: Severity) -> Recommendation:
        wider = WIDER.get(key.type)
        related = [c for c in foreign_keys(model) if len(c.columns) == 1 and (
            (c.ref_relid == key.relid and c.ref_columns == (key.column,))
            or (c.relid == key.relid and c.columns == (key.column,)))]
        action = None
        if wider is not None:
            lines = [alter_column_types(key.schema, key.table, [(key.column, wider)])]
            for c in related:
                if c.relid == key.relid and c.ref_schema and c.ref_table and c.ref_columns:
                    lines.append(alter_column_types(c.ref_schema, c.ref_table,
                                                    [(c.ref_columns[0], wider)]))
                elif c.relid != key.relid:
                    lines.append(alter_column_types(c.schema, c.table, [(c.columns[0], wider)]))
            action = Action(sql="\n".join(lines))
        kind = {"p": "primary key", "u": "unique key", "f": "foreign key"}[key.constraint_type]
        return self.finding(
            severity=severity,
            title=f"{key.table}.{key.column} ({key.type}) has used {ratio:.0%} of its range",
            detail=(f"The {kind} column {key.schema}.{key.table}.{key.column} is {key.type} "
                    f"and reached {key.max_value:,} (largest value in pg_stats), "
                    f"{ratio:.1%} of {limit:,}; no sequence feeds it, so whatever assigns its "
                    "values will fail once they pass the maximum."
                    + (f" Widening to {wider} rewrites the table (and "
                       f"{len(related)} related foreign-key column(s)) under an exclusive lock."
                       if wider else " bigint cannot be widened: find where the values come "
                                     "from (a hash? a counter elsewhere?).")),
            object=ObjectRef(key.schema, key.table, None, (key.column,)),
            action=action,
            evidence={"type": key.type, "max_value_seen": key.max_value, "type_max": limit,
                      "used_ratio": round(ratio, 4), "constraint_type": key.constraint_type,
                      "related_foreign_keys": [c.name for c in related]},
            benefit=OUTAGE_BENEFIT * ratio,
        )
