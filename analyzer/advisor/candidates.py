"""Index candidates from the workload model, minus what existing indexes already provide.

For each statement and table the advisor proposes the indexes a DBA would try: single
columns; a composite with equality columns first (most selective first, from pg_stats),
then one range column, then the ORDER BY columns in the statement's direction when a LIMIT
makes the order worth having; a covering variant with INCLUDE for hot statements; partial
indexes for IS [NOT] NULL predicates; expression indexes for functions over a column; GIN
for jsonb containment/existence, full-text, arrays and trigram search; BRIN for large
append-only tables filtered by a range on a physically ordered column.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from pgsage.analyzer.model.index_plan import Candidate, IndexKey
from pgsage.analyzer.model.workload import ColumnUse, Statement, TableRef, Use, Workload
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.collectors.columns import Column
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats

MAX_IDENTIFIER = 63
PARAM = re.compile(r"\$\d")
NORMALIZED_TSVECTOR = re.compile(r"^to_tsvector\(\$\d+, [^,()]+\)$")
"""`to_tsvector($1, body)`: pg_stat_statements replaced the configuration by a parameter."""
TS_CONFIG = re.compile(r"to_tsvector\('((?:[^']|'')+)'::regconfig")


@dataclass(frozen=True)
class TableFacts:
    """What candidate generation needs to know about one table."""

    stats: TableStats
    columns: Mapping[str, Column]
    indexes: Sequence[IndexStats]

    @property
    def rows(self) -> float:
        live = self.stats.n_live_tup or 0
        return float(max(self.stats.reltuples, live, 0))

    def distinct(self, column: str) -> float:
        """Estimated distinct values (pg_stats n_distinct; negative means a fraction)."""
        stats = self.columns.get(column)
        if stats is None or stats.n_distinct is None:
            return 0.0
        if stats.n_distinct < 0:
            return -stats.n_distinct * self.rows
        return stats.n_distinct

    def correlation(self, column: str) -> float:
        stats = self.columns.get(column)
        return abs(stats.correlation) if stats and stats.correlation is not None else 0.0

    def type_of(self, column: str) -> str:
        stats = self.columns.get(column)
        return stats.type if stats else ""

    def width(self, column: str) -> int:
        stats = self.columns.get(column)
        return stats.avg_width or 8 if stats else 8


@dataclass
class CandidateOptions:
    min_table_rows: int = 1000
    max_include_columns: int = 3
    max_include_width: int = 64
    brin_min_pages: int = 10_000
    brin_min_correlation: float = 0.9
    text_search_config: str = "pg_catalog.simple"
    """The server's default_text_search_config, the last resort for a normalized
    `to_tsvector($1, col)`."""


@dataclass
class CandidateSet:
    candidates: dict[Candidate, set[int]] = field(default_factory=dict)
    """Each candidate with the queryids it was proposed for."""
    already_indexed: dict[Candidate, str] = field(default_factory=dict)
    """Candidates an existing index provides, with that index's name."""

    def add(self, candidate: Candidate, queryid: int) -> None:
        self.candidates.setdefault(candidate, set()).add(queryid)


def _eq_uses(uses: Iterable[ColumnUse]) -> list[ColumnUse]:
    return [u for u in uses if u.use in (Use.EQ, Use.IN, Use.JOIN) and not u.in_or]


def _key(use: ColumnUse, desc: bool = False) -> IndexKey:
    return IndexKey(use.column, use.expression, desc)


def _dedupe(keys: Iterable[IndexKey]) -> tuple[IndexKey, ...]:
    seen: set[tuple[str | None, str | None]] = set()
    out = []
    for k in keys:
        ident_ = (k.column if not k.expression else None, k.expression)
        if ident_ not in seen:
            seen.add(ident_)
            out.append(k)
    return tuple(out)


def statement_candidates(statement: Statement, table: TableRef, facts: TableFacts,
                         options: CandidateOptions) -> Iterator[Candidate]:
    """Every candidate one statement suggests for one of its tables."""
    # An expression over a parameter (`substring(phone FROM $1 FOR $2)`, from a normalized
    # text) cannot be an index key: the constant it stands for is unknown.
    fulltext = [u for u in statement.uses_of(table) if u.use is Use.FULLTEXT and u.column
                and u.expression and NORMALIZED_TSVECTOR.match(u.expression)]
    uses = [u for u in statement.uses_of(table)
            if not (u.expression and PARAM.search(u.expression))]
    uses += [dataclasses.replace(u, expression=_tsvector(
        text_search_config(facts, u.column or "", options.text_search_config), u.column or ""))
        for u in fulltext]
    eq = sorted(_eq_uses(uses), key=lambda u: -facts.distinct(u.column or ""))
    ranges = [u for u in uses if u.use in (Use.RANGE, Use.LIKE_PREFIX) and not u.in_or]
    nulls = [u for u in uses if u.use in (Use.NULL, Use.NOT_NULL) and u.expression is None
             and not u.in_or]
    order = [u for u in uses if u.use is Use.ORDER]
    eq_keys = _dedupe(_key(u) for u in eq)
    for use in [*eq, *ranges, *(u for u in uses if u.in_or and u.use in (Use.EQ, Use.IN))]:
        yield Candidate(table, (_key(use),),
                        origin="expression" if use.expression else "single")
    range_key = _key(ranges[0]) if ranges else None
    keys = eq_keys + ((range_key,) if range_key else ())
    if len(_dedupe(keys)) > 1:
        yield Candidate(table, _dedupe(keys))
    if order and (statement.has_limit or not ranges):
        flip = order[0].direction == "desc"
        order_keys = tuple(IndexKey(u.column, u.expression, (u.direction == "desc") != flip)
                           for u in order)
        if range_key is None or (order_keys and order_keys[0].column == range_key.column
                                 and order_keys[0].expression == range_key.expression):
            with_order = _dedupe(eq_keys + order_keys)
            yield Candidate(table, with_order, origin="composite")
    if nulls and (eq_keys or range_key or order):
        predicate = " AND ".join(
            f"{ident(u.column or '')} IS {'NOT ' if u.use is Use.NOT_NULL else ''}NULL"
            for u in nulls)
        base = keys or tuple(IndexKey(u.column, u.expression) for u in order)
        rest = tuple(k for k in _dedupe(base) if k.column not in {u.column for u in nulls})
        if rest:
            yield Candidate(table, rest, predicate=predicate, origin="partial")
    yield from _covering(statement, table, facts, options, _dedupe(keys))
    yield from _gin(uses, table, facts)
    yield from _brin(ranges, table, facts, options)


def _covering(statement: Statement, table: TableRef, facts: TableFacts,
              options: CandidateOptions, keys: tuple[IndexKey, ...]) -> Iterator[Candidate]:
    if not keys or table in statement.select_star or table not in statement.selected_columns:
        return
    key_cols = {k.column for k in keys}
    # Everything the statement reads from the table, filters included: an index-only scan
    # needs them all.
    read = statement.selected_columns[table] | {
        u.column for u in statement.uses_of(table) if u.column and not u.expression}
    extra = sorted(c for c in read if c not in key_cols)
    if not extra or len(extra) > options.max_include_columns:
        return
    if any(facts.width(c) > options.max_include_width for c in extra):
        return
    if any(k.expression for k in keys):
        return
    yield Candidate(table, keys, include=tuple(extra), origin="covering")


def _gin(uses: Iterable[ColumnUse], table: TableRef, facts: TableFacts) -> Iterator[Candidate]:
    for use in uses:
        if use.use in (Use.JSONB_CONTAINS, Use.JSONB_EXISTS) and use.column and \
                not use.expression and facts.type_of(use.column) == "jsonb":
            opclass = "jsonb_path_ops" if use.use is Use.JSONB_CONTAINS else None
            yield Candidate(table, (IndexKey(use.column, opclass=opclass),), method="gin",
                            origin="gin")
        elif use.use is Use.FULLTEXT and use.expression and "to_tsvector" in use.expression:
            yield Candidate(table, (IndexKey(use.column, use.expression),), method="gin",
                            origin="gin")
        elif use.column and (
                (use.use is Use.FULLTEXT and not use.expression
                 and facts.type_of(use.column) == "tsvector")
                or (use.use is Use.ARRAY and facts.type_of(use.column).endswith("[]"))):
            yield Candidate(table, (IndexKey(use.column),), method="gin", origin="gin")
        elif (use.use is Use.LIKE_INFIX or (use.use is Use.LIKE_PARAM and
                                             use.operator == "~~*")) and use.column and \
                not use.expression and _is_text(facts.type_of(use.column)):
            yield Candidate(table, (IndexKey(use.column, opclass="gin_trgm_ops"),),
                            method="gin", needs_extension="pg_trgm", origin="trigram")


def _tsvector(config: str, column: str) -> str:
    return f"to_tsvector({literal(config)}::regconfig, {ident(column)})"


def text_search_config(facts: TableFacts, column: str, default: str) -> str:
    """The configuration a normalized `to_tsvector($1, column)` most likely names.

    pg_stat_statements hid the constant, and an expression index is used only for the
    configuration it was built with. The table itself usually tells: a generated tsvector
    column or an existing index over the same column with `to_tsvector('english', ...)`;
    then any such expression on the table; then the server's default_text_search_config
    (what `to_tsvector(text)` without a configuration uses).
    """
    texts = [c.generation_expression for c in facts.columns.values()
             if c.generation_expression] + [ix.expressions for ix in facts.indexes
                                            if ix.expressions]
    found = [(column not in text, m.group(1).replace("''", "'"))
             for text in texts for m in TS_CONFIG.finditer(text)]
    return min(found)[1] if found else default


def _is_text(type_name: str) -> bool:
    return type_name == "text" or type_name.startswith(("character varying", "varchar",
                                                        "character(", "citext"))


def _brin(ranges: Sequence[ColumnUse], table: TableRef, facts: TableFacts,
          options: CandidateOptions) -> Iterator[Candidate]:
    stats = facts.stats
    if stats.relpages < options.brin_min_pages:
        return
    inserts = stats.n_tup_ins or 0
    churn = (stats.n_tup_upd or 0) + (stats.n_tup_del or 0)
    if inserts == 0 or churn > 0.05 * inserts:
        return
    for use in ranges:
        if use.column and not use.expression and \
                facts.correlation(use.column) >= options.brin_min_correlation:
            yield Candidate(table, (IndexKey(use.column),), method="brin", origin="brin")


def provided_by(candidate: Candidate, indexes: Sequence[IndexStats]) -> IndexStats | None:
    """An existing valid index that already gives what the candidate would.

    Same method, predicate and expressions, and the candidate's keys are a leading prefix
    of the index's keys in the same order and direction (or all reversed, which a btree
    scans backwards); a covering candidate also needs its INCLUDE columns in the index.
    """
    for ix in indexes:
        if not ix.is_valid or ix.method != candidate.method:
            continue
        if (ix.predicate is None) != (candidate.predicate is None):
            continue
        if ix.predicate and squash(ix.predicate) != squash(candidate.predicate or ""):
            continue
        keys = ix.columns[: ix.key_count]
        if len(keys) < len(candidate.keys):
            continue
        if any(k.expression for k in candidate.keys):
            if ix.expressions is None or not all(
                    squash(k.expression or "") in squash(ix.expressions)
                    for k in candidate.keys if k.expression):
                continue
            if candidate.keys[0].expression and keys[0] is not None:
                continue
        elif any(keys[i] != k.column for i, k in enumerate(candidate.keys)):
            continue
        if candidate.method == "btree":
            desc = [bool(ix.options[i] & 1) if i < len(ix.options) else False
                    for i in range(len(candidate.keys))]
            wanted = [k.desc for k in candidate.keys]
            if desc != wanted and desc != [not w for w in wanted]:
                continue
        if candidate.include:
            present = set(c for c in ix.columns if c)
            if not set(candidate.include) <= present:
                continue
        return ix
    return None


def squash(text: str) -> str:
    """An expression compared loosely: no case, spaces, parentheses or double quotes
    (`pg_get_expr` and pglast print one expression differently)."""
    return "".join(ch for ch in text.lower() if ch not in ' ()"')


def _or_columns(statement: Statement) -> Iterator[tuple[TableRef, tuple[str, ...]]]:
    """Each OR whose arms each compare one column of one table, with those columns (two
    or more): a BitmapOr of one index per column serves it, one index alone cannot."""
    for arms in statement.ors:
        columns = {arm[0] if len(arm) == 1 else None for arm in arms}
        single = {arm[0] for arm in arms if len(arm) == 1}
        if len(single) == len(columns) > 1 and len({t for t, _ in single}) == 1:
            yield next(iter(single))[0], tuple(dict.fromkeys(arm[0][1] for arm in arms))


def or_bundles(workload: Workload, facts: Mapping[int, TableFacts], focus: Iterable[int],
               options: CandidateOptions | None = None
               ) -> dict[tuple[Candidate, ...], set[int]]:
    """One single-column index per column an OR compares, to be tried together.

    `a = $1 OR b = $2` is served by a BitmapOr over an index on a and one on b; either
    alone leaves a scan of the table, so one-at-a-time costing never sees the gain.
    Columns an existing index already leads with are left out of the bundle (the planner
    uses that index in the BitmapOr); a bundle needs two or more new indexes.
    """
    options = options or CandidateOptions()
    out: dict[tuple[Candidate, ...], set[int]] = {}
    for queryid in focus:
        statement = workload.statements.get(queryid)
        if statement is None:
            continue
        for table, columns in _or_columns(statement):
            table_facts = facts.get(table.relid)
            if table_facts is None or table_facts.rows < options.min_table_rows:
                continue
            bundle = tuple(
                c for c in (Candidate(table, (IndexKey(col),), origin="single")
                            for col in columns)
                if provided_by(c, table_facts.indexes) is None)
            if len(bundle) > 1:
                out.setdefault(bundle, set()).add(queryid)
    return out


def generate(workload: Workload, facts: Mapping[int, TableFacts], focus: Iterable[int],
             options: CandidateOptions | None = None) -> CandidateSet:
    """Candidates for the statements in `focus` (queryids), over tables worth indexing."""
    options = options or CandidateOptions()
    out = CandidateSet()
    for queryid in focus:
        statement = workload.statements.get(queryid)
        if statement is None:
            continue
        for table in statement.tables:
            table_facts = facts.get(table.relid)
            if table_facts is None or table_facts.rows < options.min_table_rows:
                continue
            for candidate in statement_candidates(statement, table, table_facts, options):
                existing = provided_by(candidate, table_facts.indexes)
                if existing is None and candidate.include:
                    # Same keys as an existing index (often the primary key): a second copy
                    # only to save heap fetches is not an index a DBA would sign.
                    existing = provided_by(dataclasses.replace(candidate, include=()),
                                           table_facts.indexes)
                if existing is not None:
                    out.already_indexed[candidate] = existing.name
                    continue
                out.add(candidate, queryid)
    return out
