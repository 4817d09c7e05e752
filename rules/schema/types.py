"""Column types: money in floating point, timestamps without time zone, varchar(n) habits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.collectors.columns import ColumnStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._catalog import columns_of, rows_with_partitions, user_tables, words
from pgsage.rules._ddl import alter_columns_type
from pgsage.rules.base import NoOptions, Rule, register

MONEY_WORDS = {"price", "amount", "cost", "total", "subtotal", "balance", "fee", "fees",
               "salary", "wage", "tax", "vat", "payment", "revenue", "charge", "refund",
               "discount", "money", "budget", "spend", "spent", "credit", "debit", "paid",
               "due", "invoice", "earnings", "profit", "income", "expense", "cash"}
"""Name parts that make a column money (`unit_price`, `totalAmount`, `tax`)."""
FLOAT_TYPES = ("real", "double precision")
_VARCHAR = re.compile(r"^character varying\((\d+)\)$")


def _by_table(model: Model) -> Iterator[tuple[TableStats, list[ColumnStats]]]:
    cols = columns_of(model)
    for t in user_tables(model, "rp"):
        yield t, sorted(cols.get(t.relid, {}).values(), key=lambda c: c.attnum)


def is_money(name: str) -> bool:
    parts = words(name)
    return any(p in MONEY_WORDS for p in parts) or any(
        name.lower().endswith(w) for w in ("price", "amount", "cost", "total"))


@register
class FloatMoney(Rule):
    """Money is stored in a floating-point column (real or double precision).

    What it detects:
        Columns of type real or double precision whose name says money: price, amount,
        cost, total, balance, fee, tax, payment, refund, discount and similar words
        (snake_case or camelCase), one finding per table.

    Why it matters:
        Binary floating point cannot represent most decimal fractions: 0.1 + 0.2 is
        0.30000000000000004, sums drift by cents over many rows, equality comparisons
        fail, and rounding differs between the database and the application. Accounting
        needs exact decimals.

    Example:
        CREATE TABLE orders (id bigint PRIMARY KEY, total double precision);

    What to do:
        Change the columns to numeric with the scale the currency needs (the action uses
        numeric(19,4): 15 digits before the point, 4 after). One ALTER TABLE changes all of
        a table's columns in a single rewrite, under an exclusive lock: plan a window for
        a large table. Values are rounded to 4 decimals on the way.

    Options:
        None.
    """

    code: ClassVar[str] = "SD002"
    name: ClassVar[str] = "schema.float_money"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.MEDIUM

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        for t, cols in _by_table(model):
            money = [c for c in cols if c.type in FLOAT_TYPES and is_money(c.name)]
            if not money:
                continue
            names = [c.name for c in money]
            rows = rows_with_partitions(model, t)
            changes = [(c.name, "numeric(19,4)") for c in money]
            undo = [(c.name, c.type) for c in money]
            typed = ", ".join(f"{c.name} ({c.type})" for c in money)
            yield self.finding(
                title=f"Money in floating point: {t.name} ({', '.join(names)})",
                detail=(f"{t.schema}.{t.name} stores {typed} "
                        "in binary floating point, which cannot hold most decimal amounts "
                        "exactly: sums drift, equality fails, rounding differs from the "
                        f"application. The table has {rows:,.0f} rows; the change rewrites it "
                        "under an exclusive lock and rounds values to 4 decimals."),
                object=ObjectRef(t.schema, t.name, None, tuple(names)),
                action=Action(sql=alter_columns_type(t.schema, t.name, changes),
                              undo_sql=alter_columns_type(t.schema, t.name, undo)),
                evidence={"columns": {c.name: c.type for c in money}, "rows": round(rows)},
                benefit=rows,
            )


@register
class TimestampWithoutTimeZone(Rule):
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

    Options:
        None.
    """

    code: ClassVar[str] = "SD003"
    name: ClassVar[str] = "schema.timestamp_without_time_zone"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.LOW

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        for t, cols in _by_table(model):
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
                                  + alter_columns_type(t.schema, t.name, changes),
                              undo_sql="SET TimeZone = 'UTC'; "
                                       + alter_columns_type(t.schema, t.name, undo)),
                evidence={"columns": names, "rows": round(rows)},
                benefit=rows,
            )


@register
class WideVarchar(Rule):
    """varchar(n) with a large arbitrary n is used everywhere.

    What it detects:
        A schema where at least `min_columns` columns are varchar(n) with n of at least
        `min_length` (255, 500, 1000, 4000 ...) and they are at least `min_share` of the
        character columns. One finding for the database (information).

    Why it matters:
        In PostgreSQL varchar(n) is stored exactly like text; a large n constrains nothing
        useful (nobody checked that 255 is the right limit), yet the day a value is longer
        inserts fail, and raising the limit of a column used in a view means dropping the
        view. It is a habit carried over from other databases.

    Example:
        CREATE TABLE users (name varchar(255), email varchar(255), city varchar(255));

    What to do:
        Use text, with a CHECK constraint where a limit carries meaning. Changing
        varchar(n) to text needs no rewrite (the action lists the columns).

    Options:
        min_columns: how many wide varchar(n) columns make a habit.
        min_length: n from which varchar(n) counts as wide.
        min_share: share of character columns that must be wide varchar(n).
    """

    code: ClassVar[str] = "SD010"
    name: ClassVar[str] = "schema.wide_varchar"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        min_columns: int = 10
        min_length: int = 255
        min_share: float = 0.5

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        wide: list[tuple[TableStats, ColumnStats, int]] = []
        character = 0
        for t, cols in _by_table(model):
            for c in cols:
                if c.type == "text" or c.type.startswith("character varying"):
                    character += 1
                match = _VARCHAR.match(c.type)
                if match and int(match.group(1)) >= options.min_length:
                    wide.append((t, c, int(match.group(1))))
        if len(wide) < options.min_columns or len(wide) < options.min_share * character:
            return
        lengths = sorted({n for _, _, n in wide})
        by_table: dict[tuple[str, str], list[str]] = {}
        for t, c, _ in wide:
            by_table.setdefault((t.schema, t.name), []).append(c.name)
        sql = "\n".join(alter_columns_type(schema, name, [(c, "text") for c in cols])
                        for (schema, name), cols in by_table.items())
        yield self.finding(
            title=f"varchar(n) everywhere: {len(wide)} of {character} character columns",
            detail=(f"{len(wide)} of the {character} character columns are varchar(n) with "
                    f"n of {', '.join(map(str, lengths))}, in {len(by_table)} tables. In "
                    "PostgreSQL varchar(n) is stored like text; the limit only makes inserts "
                    "fail the day a value is longer. Use text, with a CHECK where a limit "
                    "means something; the change below needs no table rewrite."),
            object=ObjectRef(None, None, None, None),
            action=Action(sql=sql),
            evidence={"wide_varchar_columns": len(wide), "character_columns": character,
                      "lengths": lengths, "tables": len(by_table)},
        )
