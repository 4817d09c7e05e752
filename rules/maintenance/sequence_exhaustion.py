"""A sequence has used most of the values it (or its column) can take."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import alter_column_types, alter_sequence_type
from pgsage.collectors.sequences import Sequence
from pgsage.rules._stats import DAY, OUTAGE_BENEFIT, describe
from pgsage.rules._support.sequences import ONLINE_OUTLINE, TYPE_RANGE, Range, sequence_range
from pgsage.rules.base import Rule, register


@register
class SequenceExhaustion(Rule["SequenceExhaustion.Options"]):
    """A sequence has used most of the values it (or its column) can take.

    What it detects:
        Sequences whose last value has used at least `warn_ratio` of their range. The range
        ends at the sequence's MAXVALUE (MINVALUE for a descending one) or at the end of
        the owning column's type, whichever comes first: an integer column fed by a bigint
        sequence still ends at 2147483647. With a baseline snapshot the finding also says
        how fast values are used and when they run out.

        A CYCLE sequence does not fail at the end, it starts again from the beginning and
        hands out values that may already be keys: that is reported as low. Sequences the
        role may not read (they need SELECT or USAGE) and sequences never used are skipped.

    Why it matters:
        When a serial or identity column runs out, every INSERT fails ("nextval: reached
        maximum value of sequence" or "integer out of range") until the column is widened,
        and widening a large table takes hours: it has to be planned well before the end.

    Example:
        CREATE TABLE events (id serial PRIMARY KEY, ...);   -- int4: 2147483647 ids
        SELECT last_value FROM events_id_seq;               -- 1932735283 (90%)

    What to do:
        Widen the column and everything that stores its values (foreign keys referencing
        it) to bigint, and the sequence with `ALTER SEQUENCE ... AS bigint`. The action's
        ALTER COLUMN rewrites the table under an exclusive lock; the finding outlines the
        online way for large tables.

        Severity: high from `warn_ratio`, critical from `critical_ratio`, or from
        `warn_ratio` when a baseline shows the range running out within `critical_days`.
        The defaults (75% and 90%) leave, for an int4 key, 537 and 215 million values: for
        a busy table months of lead time, which a rewrite or an online migration needs.
    References:
        https://www.postgresql.org/docs/current/sql-altersequence.html
    """

    code: ClassVar[str] = "MT001"
    name: ClassVar[str] = "maintenance.sequence_exhaustion"
    category: ClassVar[Category] = Category.MAINTENANCE
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        warn_ratio: float = field(default=0.75, metadata={
            "help": "share of the range used from which a sequence is reported (high)."})
        critical_ratio: float = field(default=0.9, metadata={
            "help": "share of the range used from which it is critical."})
        critical_days: float = field(default=30.0, metadata={
            "help": "with a baseline, fewer days left than this is critical too."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        before: dict[tuple[str, str], Sequence] = {}
        if model.baseline is not None:
            before = {(s.schema, s.name): s
                      for s in model.baseline.rows("sequences", Sequence)}
        for seq in model.sequences:
            if not seq.readable or seq.last_value is None or seq.increment_by == 0:
                continue
            rng = sequence_range(seq)
            ratio = rng.used(seq.last_value)
            if ratio < options.warn_ratio:
                continue
            days_left = self._days_left(model, seq, before.get((seq.schema, seq.name)), rng)
            yield self._finding(model, seq, rng, ratio, days_left, options)

    @staticmethod
    def _days_left(model: Model, seq: Sequence, old: Sequence | None,
                   rng: Range) -> float | None:
        window = model.snapshots_window
        if old is None or old.last_value is None or window is None:
            return None
        advanced = ((seq.last_value or 0) - old.last_value) * (1 if seq.increment_by > 0 else -1)
        per_second = window.per_second(advanced)
        if per_second is None or per_second <= 0:
            return None
        return max(abs(rng.end - (seq.last_value or 0)), 0) / per_second / DAY

    def _finding(self, model: Model, seq: Sequence, rng: Range, ratio: float,
                 days_left: float | None, options: Options) -> Recommendation:
        last = seq.last_value or 0
        remaining = max((rng.end - last) // seq.increment_by, 0)
        owner = (f"{seq.owner_schema}.{seq.owner_table}.{seq.owner_column}"
                 if seq.owner_table and seq.owner_column else None)
        cycles = seq.cycle and rng.sequence_bound  # wraps before the column overflows
        if cycles:
            severity = Severity.LOW
        elif ratio >= options.critical_ratio or (
                days_left is not None and days_left < options.critical_days):
            severity = Severity.CRITICAL
        else:
            severity = self.severity
        stops = (f"the {seq.owner_column_type} column {owner}" if rng.column_bound and owner
                 else f"the sequence's own {'MAXVALUE' if seq.increment_by > 0 else 'MINVALUE'}")
        parts = [f"Sequence {seq.schema}.{seq.name} ({seq.data_type}, increment "
                 f"{seq.increment_by}) is at {last:,}: {min(ratio, 1.0):.1%} of its range, which "
                 f"ends at {rng.end:,} ({stops}); {remaining:,} values are left."]
        window = model.snapshots_window
        if days_left is not None and window is not None:
            parts.append(f"Over {describe(window)} it advanced at a pace that uses the "
                         f"rest in about {days_left:,.0f} days.")
        if owner is None:
            parts.append("It is not owned by a column: check which columns take its values "
                         "(an integer column ends at 2147483647 whatever the sequence says).")
        if cycles:
            parts.append("It is CYCLE: instead of failing it will start again at "
                         f"{seq.min_value if seq.increment_by > 0 else seq.max_value:,} and "
                         "hand out values that may already be keys, so inserts may then fail "
                         "with duplicate key errors.")
            action = None
        else:
            parts.append("When it runs out, every insert that needs a new value fails.")
            action = self._action(model, seq, rng)
            if action is not None and rng.column_bound:
                parts.append(ONLINE_OUTLINE)
        return self.finding(
            severity=severity,
            title=(f"Sequence {seq.name} has used {min(ratio, 1.0):.0%} of its range"
                   + (f" ({owner}, {seq.owner_column_type})" if owner else "")
                   + (" and will wrap around" if cycles else "")),
            detail=" ".join(parts),
            object=(ObjectRef(seq.owner_schema, seq.owner_table, None, (seq.owner_column,))
                    if owner and seq.owner_column else ObjectRef(seq.schema)),
            action=action,
            evidence={"sequence": f"{seq.schema}.{seq.name}", "data_type": seq.data_type,
                      "last_value": last, "end_value": rng.end,
                      "used_ratio": round(ratio, 4), "values_left": remaining,
                      "increment_by": seq.increment_by, "cycle": seq.cycle,
                      "owner_column": owner, "owner_column_type": seq.owner_column_type,
                      "days_left": round(days_left, 1) if days_left is not None else None},
            benefit=OUTAGE_BENEFIT * ratio * (0.001 if cycles else 1.0),
        )

    @staticmethod
    def _action(model: Model, seq: Sequence, rng: Range) -> Action | None:
        sql: list[str] = []
        undo: list[str] = []
        widen_column = (rng.column_bound and seq.owner_schema and seq.owner_table
                        and seq.owner_column and seq.owner_column_type != "bigint")
        if widen_column:
            assert seq.owner_schema and seq.owner_table and seq.owner_column
            sql.append(alter_column_types(seq.owner_schema, seq.owner_table,
                                          [(seq.owner_column, "bigint")]))
            undo.append(alter_column_types(
                seq.owner_schema, seq.owner_table,
                [(seq.owner_column, seq.owner_column_type or "integer")]))
            for con in model.constraints:
                if (con.type != "f" or con.ref_schema != seq.owner_schema
                        or con.ref_table != seq.owner_table or not con.ref_columns
                        or seq.owner_column not in con.ref_columns):
                    continue
                child = con.columns[con.ref_columns.index(seq.owner_column)]
                sql.append(alter_column_types(con.schema, con.table, [(child, "bigint")]))
                undo.append(alter_column_types(con.schema, con.table,
                                               [(child, seq.owner_column_type or "integer")]))
        bigint_end = TYPE_RANGE["bigint"][1 if seq.increment_by > 0 else 0]
        if ((rng.sequence_bound and rng.end != bigint_end)
                or (widen_column and seq.data_type != "bigint")):
            bound = "MAXVALUE" if seq.increment_by > 0 else "MINVALUE"
            old = seq.max_value if seq.increment_by > 0 else seq.min_value
            sql.append(alter_sequence_type(seq.schema, seq.name, "bigint", bound))
            undo.append(alter_sequence_type(seq.schema, seq.name, seq.data_type, bound, old))
        if not sql:
            return None
        return Action(sql="\n".join(sql), undo_sql="\n".join(reversed(undo)))
