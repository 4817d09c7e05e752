"""varchar(n) with a large arbitrary n is used everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import alter_column_types
from pgsage.collectors.columns import Column
from pgsage.collectors.tables import TableStats
from pgsage.rules.base import Rule, register
from pgsage.rules.schema._types import columns_by_table

_VARCHAR = re.compile(r"^character varying\((\d+)\)$")


@register
class WideVarchar(Rule["WideVarchar.Options"]):
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
    """

    code: ClassVar[str] = "SD010"
    name: ClassVar[str] = "schema.wide_varchar"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        min_columns: int = field(default=10, metadata={
            "help": "how many wide varchar(n) columns make a habit."})
        min_length: int = field(default=255, metadata={
            "help": "n from which varchar(n) counts as wide."})
        min_share: float = field(default=0.5, metadata={
            "help": "share of character columns that must be wide varchar(n)."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        wide: list[tuple[TableStats, Column, int]] = []
        character = 0
        for t, cols in columns_by_table(model):
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
        sql = "\n".join(alter_column_types(schema, name, [(c, "text") for c in cols])
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
