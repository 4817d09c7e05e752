"""A tenant-like column that most statements and foreign keys carry: a distribution key."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import Use
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import GB, format_bytes
from pgsage.rules._support.catalog import columns_of, foreign_keys, user_tables
from pgsage.rules._support.columns import TENANT_PATTERN
from pgsage.rules._support.workload import is_catalog_only, short
from pgsage.rules.base import Rule, register


@register
class ShardingReadiness(Rule["ShardingReadiness.Options"]):
    """A tenant-like column that most statements and foreign keys carry: a distribution key.

    What it detects:
        In a database of at least `min_database_bytes`, a tenant-like column (name
        matching `tenant_pattern`) present in at least `min_tables` tables, filtered by
        equality in at least `min_share` of the calls on those tables, and part of
        foreign keys between them. The finding names the tables that would be
        distributed by it and the statements that do not filter on it (they would
        cross shards).

    Why it matters:
        Sharding (Citus, or application-level) scales writes and storage past one
        server only when almost every statement targets one shard: a column that every
        table and every statement carries, and that foreign keys include, keeps joins
        and transactions on one node.

    Example:
        account_id in 14 tables and 96% of calls; 3 statements without it

    What to do:
        Nothing yet if one server suffices. When it will not: the column is the
        distribution column to evaluate (for Citus, `create_distributed_table` per table,
        small shared tables as reference tables); first make the listed statements
        filter on it.
    """

    code: ClassVar[str] = "SC005"
    name: ClassVar[str] = "scaling.sharding"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        min_database_bytes: int = field(default=100 * GB, metadata={
            "help": "database size from which sharding is worth considering."})
        min_tables: int = field(default=3, metadata={"help": "tables that must carry the column."})
        min_share: float = field(default=0.8, metadata={
            "help": "share of calls on those tables filtering by it."})
        tenant_pattern: str = field(default=TENANT_PATTERN, metadata={
            "help": "regular expression for tenant-like column names."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        size = model.server.database_bytes if model.server else None
        if size is None or size < options.min_database_bytes:
            return
        pattern = re.compile(options.tenant_pattern, re.IGNORECASE)
        cols = columns_of(model)
        holders: dict[str, list[int]] = defaultdict(list)
        for table in user_tables(model, "rp"):
            for name in cols.get(table.relid, {}):
                if pattern.match(name):
                    holders[name].append(table.relid)
        found = model.totals
        for column, relids in holders.items():
            if len(relids) < options.min_tables:
                continue
            calls = hit = 0
            crossing: dict[int, float] = {}
            for st in model.workload.statements.values():
                refs = [r for r in st.tables if r.relid in relids]
                t = found.get(st.queryid)
                if not refs or t is None or is_catalog_only(st):
                    continue
                calls += t.calls
                if any(u.column == column and u.use in (Use.EQ, Use.IN, Use.JOIN)
                       for r in refs for u in st.uses_of(r)):
                    hit += t.calls
                else:
                    crossing[st.queryid] = t.total_ms
            if calls == 0 or hit / calls < options.min_share:
                continue
            fks = [f for f in foreign_keys(model) if column in f.columns
                   and f.relid in relids and f.ref_relid in relids]
            if not fks:
                continue
            names = sorted(model.tables[r].name for r in relids if r in model.tables)
            worst = sorted(crossing.items(), key=lambda c: -c[1])[:5]
            listed = "\n".join(f"  - queryid {q}: {short(model.statement_text(q), 140)}"
                               for q, _ in worst)
            citus = [f"SELECT create_distributed_table({literal(ident(tb.schema, tb.name))}, "
                     f"{literal(column)});" for r in relids if (tb := model.tables.get(r))]
            yield self.finding(
                title=f"{column} could distribute this database: in {len(relids)} tables and "
                      f"{hit / calls:.0%} of their calls",
                detail=(f"The database is {format_bytes(size)}. {column} is a column of "
                        f"{len(relids)} tables ({', '.join(names[:10])}), part of {len(fks)} "
                        f"foreign key(s) between them, and {hit / calls:.0%} of the "
                        f"{calls:,} calls on those tables filter or join on it: the shape a "
                        "sharded database (Citus, or sharding in the application) needs, "
                        "with each tenant's rows, joins and transactions on one node. "
                        f"{len(crossing)} statement(s) do not use it and would cross shards"
                        + (f":\n{listed}" if listed else ".")),
                object=ObjectRef(None, None, None, (column,)),
                impact={"queryids": [q for q, _ in worst]},
                evidence={"column": column, "tables": names, "share_of_calls":
                          round(hit / calls, 4), "foreign_keys": [f.name for f in fks],
                          "crossing_statements": [str(q) for q in crossing],
                          "citus_sql": citus, "database_bytes": size},
                benefit=float(size),
            )
