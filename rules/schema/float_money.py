"""Money is stored in a floating-point column (real or double precision)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import alter_column_types
from pgsage.rules._support.catalog import rows_with_partitions, words
from pgsage.rules.base import NoOptions, Rule, register
from pgsage.rules.schema._types import columns_by_table

MONEY_WORDS = {"price", "amount", "cost", "total", "subtotal", "balance", "fee", "fees",
               "salary", "wage", "tax", "vat", "payment", "revenue", "charge", "refund",
               "discount", "money", "budget", "spend", "spent", "credit", "debit", "paid",
               "due", "invoice", "earnings", "profit", "income", "expense", "cash"}
"""Name parts that make a column money (`unit_price`, `totalAmount`, `tax`)."""


FLOAT_TYPES = ("real", "double precision")


def is_money(name: str) -> bool:
    parts = words(name)
    return any(p in MONEY_WORDS for p in parts) or any(
        name.lower().endswith(w) for w in ("price", "amount", "cost", "total"))


@register
class FloatMoney(Rule[NoOptions]):
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
    """

    code: ClassVar[str] = "SD002"
    name: ClassVar[str] = "schema.float_money"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.MEDIUM
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        for t, cols in columns_by_table(model):
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
                action=Action(sql=alter_column_types(t.schema, t.name, changes),
                              undo_sql=alter_column_types(t.schema, t.name, undo)),
                evidence={"columns": {c.name: c.type for c in money}, "rows": round(rows)},
                benefit=rows,
            )
