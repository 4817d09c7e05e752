"""Event times are stored as timestamp without time zone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import alter_column_types
from pgsage.rules._support.catalog import rows_with_partitions
from pgsage.rules.base import NoOptions, Rule, register
from pgsage.rules.schema._types import columns_by_table


@register
class TimestampWithoutTimeZone(Rule[NoOptions]):
    """Event times are stored as timestamp without time zone.

    What it detects:
        Columns of type `timestamp without time zone` (any precision), one finding per
        table. Columns whose name says they hold a local wall-clock time (containing
        `local`) are left alone: that is what the type is for.

    Why it matters:
        A timestamp without time zone is a wall-clock reading with no instant attached:
        the same value means different moments for sessions in different zones, twice a
        year an hour is ambiguous or missing, and comparisons with now() depend on the
        session's TimeZone. timestamptz stores the instant (in UTC) and costs the same 8
        bytes.

    Example:
        CREATE TABLE orders (..., created_at timestamp);   -- which zone?

    What to do:
        Change the columns to timestamptz. Since PostgreSQL 12 the change does not
        rewrite the table when the session's TimeZone is UTC and the values were written
        in UTC, which is what the action assumes; if the application wrote local times,
        use `USING col AT TIME ZONE 'its zone'` instead (a rewrite).
    """

    code: ClassVar[str] = "SD003"
    name: ClassVar[str] = "schema.timestamp_without_time_zone"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.LOW
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        for t, cols in columns_by_table(model):
            naive = [c for c in cols if c.type.startswith("timestamp")
                     and c.type.endswith("without time zone") and "local" not in c.name.lower()]
            if not naive:
                continue
            names = [c.name for c in naive]
            changes = [(c.name, c.type.replace("without", "with")) for c in naive]
            undo = [(c.name, c.type) for c in naive]
            rows = rows_with_partitions(model, t)
            yield self.finding(
                title=f"timestamp without time zone in {t.name} ({', '.join(names)})",
                detail=(f"{t.schema}.{t.name} stores {', '.join(names)} as timestamp without "
                        "time zone: a wall-clock reading whose instant depends on the zone of "
                        "whoever wrote it, ambiguous once a year at the DST change. "
                        "timestamptz stores the instant in the same 8 bytes. The action reads "
                        "the existing values as UTC, which needs no table rewrite."),
                object=ObjectRef(t.schema, t.name, None, tuple(names)),
                action=Action(sql="SET TimeZone = 'UTC';  -- existing values are read as UTC\n"
                                  + alter_column_types(t.schema, t.name, changes),
                              undo_sql="SET TimeZone = 'UTC'; "
                                       + alter_column_types(t.schema, t.name, undo)),
                evidence={"columns": names, "rows": round(rows)},
                benefit=rows,
            )
