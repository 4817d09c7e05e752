"""LIKE or ILIKE with a pattern that starts with a wildcard: no btree index helps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate, IndexKey
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.workload import ColumnUse, Statement, Use
from pgsage.analyzer.sqlgen import ident
from pgsage.rules._support.catalog import table_rows
from pgsage.rules._support.workload import advisor_choice_on, free_index_name
from pgsage.rules.base import Rule, register
from pgsage.rules.query._antipatterns import modelled_statements, table_ref_object


def _has_trigram_index(model: Model, relid: int, column: str) -> str | None:
    for ix in model.indexes_by_table.get(relid, []):
        if ix.is_valid and ix.method in ("gin", "gist") and column in ix.columns \
                and any("trgm" in op for op in ix.opclasses):
            return ix.name
    return None


@register
class LeadingWildcard(Rule["LeadingWildcard.Options"]):
    """LIKE or ILIKE with a pattern that starts with a wildcard: no btree index helps.

    What it detects:
        Conditions `col LIKE '%...'` (or `_`, or ILIKE) on tables with at least `min_rows`
        rows and no trigram index on the column. pg_stat_statements replaces the pattern
        with a placeholder (`col LIKE $1`), so this is seen only in texts that keep their
        constants (texts given to pgsage from elsewhere, statements built without
        placeholders that pg_stat_statements did not normalize); a pattern bound as a
        parameter stays unknown. When IX001 already proposes the trigram index, the
        finding is info and points to it.

    Why it matters:
        A btree index can find a prefix (`abc%`), never a substring: every call reads
        every row and runs the pattern on it.

    Example:
        SELECT * FROM products WHERE name ILIKE '%phone%'

    What to do:
        Create a trigram GIN index (pg_trgm) on the column: it serves LIKE/ILIKE with any
        pattern of three characters or more. For word search, full-text search
        (tsvector) may fit better.
    """

    code: ClassVar[str] = "QY005"
    name: ClassVar[str] = "query.leading_wildcard"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=10_000, metadata={
            "help": "rows a table needs for the finding."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        groups: dict[tuple[int, str], list[tuple[Statement, Totals, ColumnUse]]] = \
            defaultdict(list)
        for statement, t in modelled_statements(model, 1):
            for use in statement.uses:
                if use.use is not Use.LIKE_INFIX or use.column is None \
                        or use.expression is not None or not use.literal \
                        or not use.literal.startswith(("%", "_")):
                    continue
                if table_rows(model.tables.get(use.table.relid)) < options.min_rows:
                    continue
                if _has_trigram_index(model, use.table.relid, use.column):
                    continue
                groups[(use.table.relid, use.column)].append((statement, t, use))
        for (relid, column), hits in groups.items():
            table = hits[0][2].table
            rows = table_rows(model.tables.get(relid))
            queryids = sorted({t.queryid for _, t, _ in hits})
            patterns = sorted({u.literal or "" for _, _, u in hits})[:5]
            choice = advisor_choice_on(model, relid, column=column, method="gin")
            common = (f"{len(queryids)} statement(s) search {table.name}.{column} with a "
                      f"pattern that starts with a wildcard ({', '.join(patterns)}): no btree "
                      f"index can serve it, so each call reads all {rows:,.0f} rows.")
            if choice is not None:
                yield self.finding(
                    severity=Severity.INFO,
                    title=f"Leading-wildcard LIKE on {table.name}.{column}: IX001 proposes "
                          f"{choice.name}",
                    detail=f"{common} The index advisor proposes {choice.name} (IX001).",
                    object=table_ref_object(table, (column,)),
                    impact={"queryids": queryids},
                    evidence={"patterns": patterns, "rows": rows, "index_advisor": choice.name},
                    benefit=sum(t.total_ms for _, t, _ in hits))
                continue
            candidate = Candidate(table, (IndexKey(column, opclass="gin_trgm_ops"),),
                                  method="gin", needs_extension="pg_trgm", origin="trigram")
            name = free_index_name(model, candidate).replace("_gin_idx", "_trgm_idx")
            lines = []
            if not model.extension_installed("pg_trgm"):
                lines.append("CREATE EXTENSION IF NOT EXISTS pg_trgm;")
            lines.append(candidate.definition(name=name) + ";")
            yield self.finding(
                title=f"Leading-wildcard LIKE on {table.name}.{column}: add a trigram index",
                detail=(f"{common} A trigram GIN index (pg_trgm) serves LIKE and ILIKE with any "
                        "pattern of three characters or more."),
                object=table_ref_object(table, (column,)),
                action=Action(sql="\n".join(lines),
                              undo_sql=f"DROP INDEX CONCURRENTLY IF EXISTS "
                                       f"{ident(table.schema, name)};"),
                impact={"queryids": queryids},
                evidence={"patterns": patterns, "rows": rows,
                          "pg_trgm_installed": model.extension_installed("pg_trgm")},
                benefit=sum(t.total_ms for _, t, _ in hits),
            )
