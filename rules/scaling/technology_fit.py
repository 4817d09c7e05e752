"""The workload has the shape of time series, search or documents: tools that fit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import Use
from pgsage.analyzer.units import GB, format_bytes
from pgsage.rules._stats import describe
from pgsage.rules._support.catalog import columns_of, table_rows, user_tables
from pgsage.rules._support.columns import TIME_TYPES
from pgsage.rules._support.workload import statements_on
from pgsage.rules.base import Rule, register


@register
class TechnologyFit(Rule["TechnologyFit.Options"]):
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
    """

    code: ClassVar[str] = "SC006"
    name: ClassVar[str] = "scaling.technology_fit"
    category: ClassVar[Category] = Category.SCALING
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        min_bytes: int = field(default=10 * GB, metadata={
            "help": "size of a table from which it may be a time series."})
        min_correlation: float = field(default=0.95, metadata={
            "help": "correlation of the time column with the physical order a time series shows."})
        min_inserts_per_second: float = field(default=100.0, metadata={
            "help": "inserts a second a time series receives."})
        min_search_share: float = field(default=0.3, metadata={
            "help": "share of statement time in full-text statements."})
        min_json_width_share: float = field(default=0.5, metadata={
            "help": "share of the row in jsonb columns."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        yield from self._time_series(model, options)
        yield from self._search(model, options)
        yield from self._documents(model, options)

    def _time_series(self, model: Model, options: Options) -> Iterator[Recommendation]:
        if model.extension_installed("timescaledb"):
            return
        cols = columns_of(model)
        window = model.counter_window
        found = model.totals
        for table in user_tables(model, "r"):
            if (table.table_bytes or 0) < options.min_bytes or window.seconds <= 0:
                continue
            ins = model.table_counter(table.relid, "n_tup_ins") or 0
            upd = model.table_counter(table.relid, "n_tup_upd") or 0
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
                    detail=(f"{table.name} received {rate:,.0f} rows a second over "
                            f"{describe(window)} in {col.name} order (correlation "
                            f"{col.correlation:.2f}), is almost never "
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
        found = model.totals
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
        found = model.totals
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
