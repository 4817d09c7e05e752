"""Beyond one server: sharding readiness and what other technology the workload resembles.

SC005 a tenant-like distribution column present in most statements and foreign keys (for
Citus and the like), SC006 workload shapes another tool serves well: time series,
full-text search, JSON documents. Both are info: evidence for a decision, not an action.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import Use
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import format_bytes
from pgsage.rules._catalog import columns_of, foreign_keys, user_tables
from pgsage.rules._stats import counter_window, table_counter
from pgsage.rules._workload import is_catalog_only, short, statements_on, table_rows, totals
from pgsage.rules.base import Rule, register
from pgsage.rules.partitioning.candidates import TENANT_PATTERN, TIME_TYPES

GB = 1024**3


@register
class ShardingReadiness(Rule):
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

    Options:
        min_database_bytes: database size from which sharding is worth considering.
        min_tables: tables that must carry the column.
        min_share: share of calls on those tables filtering by it.
        tenant_pattern: regular expression for tenant-like column names.
    """

    code: ClassVar[str] = "SC005"
    name: ClassVar[str] = "scaling.sharding"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        min_database_bytes: int = 100 * GB
        min_tables: int = 3
        min_share: float = 0.8
        tenant_pattern: str = TENANT_PATTERN

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
        found = totals(model)
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


@register
class TechnologyFit(Rule):
    """The workload has the shape of time series, search or documents: tools that fit.

    What it detects:
        Three shapes, each an info finding with its evidence. Time series: a table of at
        least `min_bytes` filled in the order of a timestamp column (pg_stats correlation
        of at least `min_correlation`), almost never updated, at least
        `min_inserts_per_second` rows inserted a second, and read by ranges of that
        column. Full-text search: statements with `@@` taking at least
        `min_search_share` of statement time. Documents: tables whose jsonb columns make
        up at least `min_json_width_share` of the row and that are read mostly through
        jsonb operators.

    Why it matters:
        PostgreSQL does all three; knowing the shape tells which of its tools to use, and
        when a specialised one pays: TimescaleDB (compression, continuous aggregates) or
        native partitioning for time series; tsvector with GIN, or a search engine for
        relevance tuning and typo tolerance at scale; GIN (jsonb_path_ops) and generated
        columns for hot keys in documents.

    Example:
        metrics: 80 GB, 3,000 inserts a second in time order, range reads by ts

    What to do:
        Read the evidence and decide; pgsage's index and partitioning findings cover the
        PostgreSQL-native way.

    Options:
        min_bytes / min_correlation / min_inserts_per_second: the time-series shape.
        min_search_share: share of statement time in full-text statements.
        min_json_width_share: share of the row in jsonb columns.
    """

    code: ClassVar[str] = "SC006"
    name: ClassVar[str] = "scaling.technology_fit"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        min_bytes: int = 10 * GB
        min_correlation: float = 0.95
        min_inserts_per_second: float = 100.0
        min_search_share: float = 0.3
        min_json_width_share: float = 0.5

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        yield from self._time_series(model, options)
        yield from self._search(model, options)
        yield from self._documents(model, options)

    def _time_series(self, model: Model, options: Options) -> Iterator[Recommendation]:
        if model.extension_installed("timescaledb"):
            return
        cols = columns_of(model)
        window = counter_window(model)
        found = totals(model)
        for table in user_tables(model, "r"):
            if (table.table_bytes or 0) < options.min_bytes or window.seconds <= 0:
                continue
            ins = table_counter(model, table.relid, "n_tup_ins") or 0
            upd = table_counter(model, table.relid, "n_tup_upd") or 0
            rate = ins / window.seconds
            if rate < options.min_inserts_per_second or upd > 0.05 * ins:
                continue
            for col in cols.get(table.relid, {}).values():
                if col.type not in TIME_TYPES \
                        or abs(col.correlation or 0) < options.min_correlation:
                    continue
                ranged = sum(found[st.queryid].calls for st in statements_on(model, table.relid)
                             if st.queryid in found and any(
                                 u.column == col.name and u.use is Use.RANGE
                                 for u in st.uses if u.table.relid == table.relid))
                if not ranged:
                    continue
                yield self.finding(
                    title=f"{table.name} is a time series ({format_bytes(table.table_bytes)}, "
                          f"{rate:,.0f} rows/s in {col.name} order)",
                    detail=(f"{table.name} receives {rate:,.0f} rows a second in {col.name} "
                            f"order (correlation {col.correlation:.2f}), is almost never "
                            f"updated ({upd:,} updates for {ins:,} inserts) and is read by "
                            f"ranges of {col.name} ({ranged:,} calls). Native range "
                            "partitioning (PT001) fits; TimescaleDB adds compression of old "
                            "chunks and continuous aggregates for such tables."),
                    object=ObjectRef(table.schema, table.name, None, (col.name,)),
                    evidence={"kind": "time_series", "table_bytes": table.table_bytes,
                              "inserts_per_second": round(rate, 1), "updates": upd,
                              "correlation": col.correlation, "range_calls": ranged},
                    benefit=float(table.table_bytes or 0))
                break

    def _search(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = totals(model)
        total = sum(t.total_ms for t in found.values() if t.toplevel)
        if total <= 0:
            return
        search = [st for st in model.workload.statements.values()
                  if st.queryid in found and any(u.use is Use.FULLTEXT for u in st.uses)]
        spent = sum(found[st.queryid].total_ms for st in search)
        if not search or spent / total < options.min_search_share:
            return
        calls = sum(found[st.queryid].calls for st in search)
        gin = sorted({ix.name for st in search for r in st.tables
                      for ix in model.indexes_by_table.get(r.relid, []) if ix.method == "gin"})
        yield self.finding(
            title=f"Full-text search is {spent / total:.0%} of statement time",
            detail=(f"{len(search)} statement(s) with @@ took {spent / 1000:,.1f} s "
                    f"({spent / total:.0%} of statement time, {calls:,} calls, "
                    f"{spent / max(calls, 1):,.1f} ms each). GIN indexes on their tables: "
                    f"{', '.join(gin) or 'none'}. tsvector with GIN (a stored generated "
                    "tsvector column) serves this well into millions of documents; relevance "
                    "tuning, typo tolerance and faceting at scale are where a search engine "
                    "fed from PostgreSQL pays off."),
            object=ObjectRef(),
            impact={"queryids": [st.queryid for st in search]},
            evidence={"kind": "full_text", "share_of_time": round(spent / total, 4),
                      "calls": calls, "gin_indexes": gin},
            benefit=spent)

    def _documents(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        found = totals(model)
        json_uses = (Use.JSONB_CONTAINS, Use.JSONB_EXISTS)
        for table in user_tables(model, "r"):
            columns = cols.get(table.relid, {})
            width = sum(c.avg_width or 0 for c in columns.values())
            json_cols = [c for c in columns.values() if c.type == "jsonb"]
            json_width = sum(c.avg_width or 0 for c in json_cols)
            if not json_cols or width <= 0 or json_width / width < options.min_json_width_share:
                continue
            calls = json_calls = 0
            for st in statements_on(model, table.relid):
                t = found.get(st.queryid)
                if t is None or st.kind != "select":
                    continue
                calls += t.calls
                if any(u.use in json_uses or (u.expression and "->" in u.expression)
                       for u in st.uses if u.table.relid == table.relid):
                    json_calls += t.calls
            if calls == 0 or json_calls / calls < 0.5:
                continue
            yield self.finding(
                title=f"{table.name} is used as a document store ({json_width / width:.0%} of "
                      "each row is jsonb)",
                detail=(f"{', '.join(c.name for c in json_cols)} make up {json_width / width:.0%} "
                        f"of {table.name}'s rows ({table_rows(table):,.0f} rows) and "
                        f"{json_calls / calls:.0%} of its reads go through jsonb operators. "
                        "PostgreSQL serves documents well: GIN (jsonb_path_ops) for "
                        "containment, expression indexes or stored generated columns for the "
                        "keys filtered most (SD007 and IX001 propose them); keys every row "
                        "has belong in columns."),
                object=ObjectRef(table.schema, table.name, None,
                                 tuple(c.name for c in json_cols)),
                evidence={"kind": "documents", "json_width_share": round(json_width / width, 4),
                          "json_read_share": round(json_calls / calls, 4)},
                benefit=float(table.table_bytes or 0))
