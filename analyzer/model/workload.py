"""The workload model: what each statement does to which columns, from one cheap parse.

Each distinct statement text is parsed once with libpg_query's JSON output
(`pglast.parser.parse_sql_json`, a few microseconds) and walked as plain dicts; building
pglast's Python AST for every statement would cost tens of times more. Only the rare
expression that becomes an index key is turned into an AST to be deparsed.

Relations are resolved against the snapshot's catalog (schema-qualified names, the
search_path, aliases, CTEs and subqueries); column uses are classified the way an index
advisor needs them: equality, range, IS NULL, LIKE, join keys, ORDER BY with direction and
LIMIT, GROUP BY/DISTINCT, expressions, jsonb, full-text and array operators. A statement
that does not parse (often truncated by `track_activity_query_size`) is counted and skipped.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pglast
from pglast import ast
from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS
from pglast.parser import ParseError, parse_sql_json
from pglast.stream import RawStream

Json = dict[str, Any]


class Use(StrEnum):
    EQ = "eq"
    IN = "in"
    RANGE = "range"
    NULL = "null"
    NOT_NULL = "not_null"
    LIKE_PREFIX = "like_prefix"
    LIKE_INFIX = "like_infix"
    LIKE_PARAM = "like_param"
    """LIKE against a parameter: pg_stat_statements hides whether the pattern is a prefix."""
    JOIN = "join"
    ORDER = "order"
    GROUP = "group"
    JSONB_CONTAINS = "jsonb_contains"
    JSONB_EXISTS = "jsonb_exists"
    FULLTEXT = "fulltext"
    ARRAY = "array"
    NE = "ne"
    OTHER = "other"


SARGABLE = {Use.EQ, Use.IN, Use.RANGE, Use.NULL, Use.NOT_NULL, Use.LIKE_PREFIX, Use.JOIN}
RANGE_OPS = {"<", "<=", ">", ">=", "BETWEEN"}
JSONB_CONTAINS_OPS = {"@>", "<@"}
JSONB_EXISTS_OPS = {"?", "?|", "?&"}
ARRAY_OPS = {"&&"}


@dataclass(frozen=True, slots=True)
class TableRef:
    relid: int
    schema: str
    name: str


@dataclass(frozen=True, slots=True)
class ColumnUse:
    """One use of a column (or of an expression over one table's columns)."""

    table: TableRef
    column: str | None
    """The column, or None for an expression over several columns."""
    use: Use
    clause: str
    """where, join, order, group."""
    expression: str | None = None
    """Deparsed expression without table qualifiers, e.g. `lower(email)`; None for a column."""
    direction: str | None = None
    """asc/desc for ORDER uses."""
    operator: str | None = None
    in_or: bool = False
    """Inside an OR: one index can serve the whole clause only with a BitmapOr."""
    literal: str | None = None
    """The constant compared against, when the text still has one (not normalized away)."""


@dataclass
class Statement:
    """What one statement does, as far as the index advisor and query rules care."""

    queryid: int
    text: str
    kind: str
    """select, insert, update, delete, merge, utility, other."""
    plain_select: bool = False
    """Exactly one SELECT, no data-modifying CTE, no SELECT INTO, no locking clause."""
    tables: set[TableRef] = field(default_factory=set)
    uses: list[ColumnUse] = field(default_factory=list)
    has_limit: bool = False
    select_star: set[TableRef] = field(default_factory=set)
    ors: list[tuple[tuple[tuple[TableRef, str], ...], ...]] = field(default_factory=list)
    """Each OR of a predicate: per arm, the columns it references (resolved, outside
    subqueries). What a rule or the index advisor makes of an OR is theirs to decide."""
    updated_columns: dict[TableRef, set[str]] = field(default_factory=dict)
    selected_columns: dict[TableRef, set[str]] = field(default_factory=dict)
    """Every column the statement reads per table (for covering indexes); absent when `*`."""
    unresolved: set[str] = field(default_factory=set)
    """Relation names that are not tables of the snapshot (views, functions, other schemas)."""
    values_rows: int = 0
    """Rows of an INSERT ... VALUES list (0 for any other statement): many rows in one
    statement are a bulk load (pgbench -i, sysbench prepare, an ORM's batch insert)."""

    def uses_of(self, table: TableRef) -> list[ColumnUse]:
        return [u for u in self.uses if u.table == table]


@dataclass(frozen=True, slots=True)
class Catalog:
    """What name resolution needs from the snapshot."""

    tables: Mapping[tuple[str, str], TableRef]
    columns: Mapping[int, Sequence[str]]
    search_path: Sequence[str] = ("$user", "public")
    views: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(schema, name) of each view -> its definition (pg_get_viewdef)."""

    def _lookup(self, names: Mapping[tuple[str, str], Any], schema: str | None, name: str,
                user: str | None) -> tuple[str, str] | None:
        if schema is not None:
            return (schema, name) if (schema, name) in names else None
        for entry in ("pg_catalog", *self.search_path):
            candidate = user if entry == "$user" else entry
            if candidate and (candidate, name) in names:
                return candidate, name
        return None

    def resolve(self, schema: str | None, name: str, user: str | None) -> TableRef | None:
        found = self._lookup(self.tables, schema, name, user)
        return self.tables[found] if found else None

    def view(self, schema: str | None, name: str, user: str | None) -> str | None:
        """The definition of the view a name resolves to, when it is not a table."""
        if self._lookup(self.tables, schema, name, user):
            return None
        found = self._lookup(self.views, schema, name, user)
        return self.views[found] if found else None

    def has_column(self, table: TableRef, column: str) -> bool:
        return column in self.columns.get(table.relid, ())


class Unsupported(Exception):
    """A statement shape the model does not describe (it is counted, not fatal)."""


def parse(text: str) -> Json:
    """libpg_query's JSON parse tree; raises ParseError with the server's message."""
    tree: Json = json.loads(parse_sql_json(text))
    return tree


def _parse_raw(text: str) -> tuple[Json, bool]:
    """The parse tree, and whether it holds any subquery (a cheap test on the JSON text)."""
    raw = parse_sql_json(text)
    return json.loads(raw), '"SubLink"' in raw


def node_type(node: Any) -> tuple[str, Json] | None:
    """`{"A_Expr": {...}}` -> ("A_Expr", {...}). The walk's hottest function: kept lean."""
    if type(node) is dict and len(node) == 1:
        name = next(iter(node))
        body = node[name]
        if type(body) is dict and "A" <= name[0] <= "Z":
            return name, body
    return None


def _strings(items: Iterable[Any]) -> list[str]:
    """Names in a list of String nodes (`*` for A_Star), as in ColumnRef.fields."""
    out = []
    for item in items:
        if "String" in item:
            out.append(str(item["String"].get("sval", "")))
        elif "A_Star" in item:
            out.append("*")
    return out


def _find(node: Any, cls_name: str, location: int) -> Any:
    """The pglast AST node of a class at a source location (both trees carry locations)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            if type(item).__name__ == cls_name and getattr(item, "location", None) == location:
                return item
            stack.extend(getattr(item, a) for a in item)
        elif isinstance(item, tuple | list):
            stack.extend(item)
    return None


def _strip_qualifiers(node: Any) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.ColumnRef) and item.fields:
            item.fields = item.fields[-1:]
        elif isinstance(item, ast.Node):
            stack.extend(getattr(item, a) for a in item)
        elif isinstance(item, tuple | list):
            stack.extend(item)


def _name(text: str) -> str:
    """An identifier as PostgreSQL prints it: bare when it can be, quoted otherwise."""
    if _BARE.match(text) and text not in RESERVED_KEYWORDS and \
            text not in TYPE_FUNC_NAME_KEYWORDS:
        return text
    return '"' + text.replace('"', '""') + '"'


def _quick_deparse(node: Any) -> str | None:
    """Functions and operators over columns and simple constants, printed from JSON; None
    for anything else (the caller falls back to pglast's printer)."""
    found = node_type(node)
    if found is None:
        return None
    name, body = found
    if name == "ColumnRef":
        fields = _strings(body.get("fields", []))
        return _name(fields[-1]) if fields and fields[-1] != "*" else None
    if name == "A_Const":
        if "sval" in body:
            return "'" + str(body["sval"].get("sval", "")).replace("'", "''") + "'"
        if "ival" in body:
            return str(body["ival"].get("ival", 0))
        return None
    if name == "FuncCall":
        if body.get("agg_star") or body.get("over") or body.get("agg_order") or \
                body.get("agg_filter") or body.get("agg_distinct") or body.get("func_variadic"):
            return None
        names = _strings(body.get("funcname", []))
        if not names or body.get("funcformat") == "COERCE_SQL_SYNTAX":
            return None  # EXTRACT(... FROM ...), TRIM(...): pglast prints the special syntax
        args = [_quick_deparse(a) for a in body.get("args", [])]
        if any(a is None for a in args):
            return None
        return ".".join(_name(n) for n in names) + "(" + ", ".join(args) + ")"  # type: ignore[arg-type]
    if name == "A_Expr" and body.get("kind") == "AEXPR_OP":
        op = _strings(body.get("name", []))
        left, right = _quick_deparse(body.get("lexpr")), _quick_deparse(body.get("rexpr"))
        if len(op) != 1 or left is None or right is None or not _OPERATOR.match(op[0]):
            return None
        return f"{left} {op[0]} {right}"
    return None


_BARE = re.compile(r"^[a-z_][a-z0-9_$]*$")
_OPERATOR = re.compile(r"^[-+*/<>=~!@#%^&|`?]+$")


def deparse_statement(text: str) -> str:
    """SQL text of a statement regenerated by pglast from its parse tree.

    What pgsage sends to EXPLAIN is this regenerated text, never the original: a tree that
    holds exactly one SELECT cannot turn into two statements on the way back.
    """
    stmts = pglast.parse_sql(text)
    if len(stmts) != 1:
        raise Unsupported("not exactly one statement")
    return str(RawStream()(stmts[0]))


@dataclass
class _Scope:
    """Names visible in one query level: aliases to tables, and opaque subquery aliases."""

    tables: dict[str, TableRef] = field(default_factory=dict)
    views: dict[str, dict[str, tuple[TableRef, str]]] = field(default_factory=dict)
    """Views by alias: each output column that is a base table's column, to that column."""
    opaque: set[str] = field(default_factory=set)
    ctes: set[str] = field(default_factory=set)
    parent: _Scope | None = None

    def all_ctes(self) -> set[str]:
        return self.ctes | (self.parent.all_ctes() if self.parent else set())


class _Walker:
    """Walks one statement's JSON tree and fills a Statement."""

    def __init__(self, statement: Statement, catalog: Catalog, user: str | None,
                 sublinks: bool = True) -> None:
        self.st = statement
        self.catalog = catalog
        self.user = user
        self.sublinks = sublinks
        """False when the statement has no subquery: the subquery searches are skipped."""
        self._ast: tuple[Any, ...] | None = None

    def deparse(self, name: str, body: Json) -> str | None:
        """Text of an expression without table qualifiers, e.g. `lower(email)`.

        Common shapes (functions and operators over columns and constants) are printed
        straight from the JSON tree; anything else goes through pglast's printer, whose
        full AST costs ten times the JSON parse, built lazily once per statement.
        """
        quick = _quick_deparse({name: body})
        if quick is not None:
            return quick
        location = body.get("location")
        if location is None:
            return None
        if self._ast is None:
            self._ast = tuple(pglast.parse_sql(self.st.text))
        node = _find(self._ast, name, int(location))
        if node is None:
            return None
        node = copy.deepcopy(node)
        _strip_qualifiers(node)
        return str(RawStream()(node))

    # --- name resolution ---------------------------------------------------------------
    def _add_range(self, item: Any, scope: _Scope, clause: str) -> None:
        found = node_type(item)
        if not found:
            return
        name, body = found
        if name == "RangeVar":
            rel = str(body.get("relname"))
            schema = body.get("schemaname")
            alias = (body.get("alias") or {}).get("aliasname") or rel
            if schema is None and rel in scope.all_ctes():
                scope.opaque.add(alias)
                return
            table = self.catalog.resolve(schema, rel, self.user)
            definition = self.catalog.view(schema, rel, self.user) if table is None else None
            if definition is not None and self._view(definition, alias, scope):
                return
            if table is None:
                self.st.unresolved.add(f"{schema}.{rel}" if schema else rel)
                scope.opaque.add(alias)
                return
            scope.tables[alias] = table
            self.st.tables.add(table)
        elif name == "JoinExpr":
            self._add_range(body.get("larg"), scope, clause)
            self._add_range(body.get("rarg"), scope, clause)
            if body.get("quals"):
                self._predicate(body["quals"], scope, "join", in_or=False)
            for col in _strings(body.get("usingClause", [])):
                for table in self._tables_with(col, scope):
                    self._use(table, col, Use.JOIN, "join")
        elif name == "RangeSubselect":
            alias = (body.get("alias") or {}).get("aliasname")
            self._query(body.get("subquery"), _Scope(parent=scope))
            if alias:
                scope.opaque.add(alias)
        elif name == "RangeFunction":
            alias = (body.get("alias") or {}).get("aliasname")
            if alias:
                scope.opaque.add(alias)

    def _view(self, definition: str, alias: str, scope: _Scope) -> bool:
        """Read a view through its definition: its joins and filters are uses of its base
        tables, and its output columns that are base columns resolve to them."""
        found = node_type(_view_query(definition))
        if not found or found[0] != "SelectStmt" or \
                found[1].get("op", "SETOP_NONE") != "SETOP_NONE":
            return False
        inner = _Scope()
        self._select(found[1], inner)
        outputs: dict[str, tuple[TableRef, str]] = {}
        for target in found[1].get("targetList", []):
            res = node_type(target)
            ref = node_type(res[1].get("val")) if res and res[0] == "ResTarget" else None
            if not res or not ref or ref[0] != "ColumnRef":
                continue
            resolved = self._column(ref[1], inner)
            if resolved is not None:
                outputs[str(res[1].get("name") or resolved[1])] = resolved
        scope.views[alias] = outputs
        return True

    def _tables_with(self, column: str, scope: _Scope) -> list[TableRef]:
        return [t for t in scope.tables.values() if self.catalog.has_column(t, column)]

    def _column(self, ref: Json, scope: _Scope) -> tuple[TableRef, str] | None:
        """Resolve a ColumnRef to (table, column), searching outer levels for correlation."""
        fields = _strings(ref.get("fields", []))
        if not fields or fields[-1] == "*":
            return None
        column = fields[-1]
        level: _Scope | None = scope
        while level is not None:
            if len(fields) >= 2:
                qualifier = fields[-2]
                if qualifier in level.tables:
                    return level.tables[qualifier], column
                if qualifier in level.views:
                    return level.views[qualifier].get(column)
                if qualifier in level.opaque:
                    return None
            else:
                owners: list[tuple[TableRef, str]] = [
                    (t, column) for t in level.tables.values()
                    if self.catalog.has_column(t, column)]
                owners += [v[column] for v in level.views.values() if column in v]
                if len(owners) == 1:
                    return owners[0]
                if len(owners) > 1:
                    return None
                if len(level.tables) == 1 and not level.opaque and not self.catalog.columns:
                    return next(iter(level.tables.values())), column
            level = level.parent
        return None

    def _columns_in(self, node: Any, scope: _Scope) -> list[tuple[TableRef, str]]:
        """Every resolvable column referenced inside an expression (not inside subqueries)."""
        out: list[tuple[TableRef, str]] = []
        stack = [node]
        while stack:
            item = stack.pop()
            found = node_type(item)
            if found:
                name, body = found
                if name == "ColumnRef":
                    resolved = self._column(body, scope)
                    if resolved:
                        out.append(resolved)
                    continue
                if name == "SubLink":
                    continue
                stack.extend(body.values())
            elif isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return out

    def _use(self, table: TableRef, column: str | None, use: Use, clause: str, **kw: Any) -> None:
        self.st.uses.append(ColumnUse(table, column, use, clause, **kw))

    # --- query levels -------------------------------------------------------------------
    def _query(self, node: Any, scope: _Scope) -> None:
        found = node_type(node)
        if not found:
            return
        name, body = found
        if name == "SelectStmt":
            self._select(body, scope)
        elif name in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
            self._modify(name, body, scope)

    def _with(self, body: Json, scope: _Scope) -> None:
        with_clause = body.get("withClause")
        if not with_clause:
            return
        for cte in with_clause.get("WithClause", with_clause).get("ctes", []):
            found = node_type(cte)
            if not found:
                continue
            cte_body = found[1]
            scope.ctes.add(str(cte_body.get("ctename")))
            inner = node_type(cte_body.get("ctequery"))
            if inner and inner[0] != "SelectStmt":
                self.st.plain_select = False
            self._query(cte_body.get("ctequery"), _Scope(parent=scope))

    def _select(self, body: Json, scope: _Scope) -> None:
        self._with(body, scope)
        if body.get("op", "SETOP_NONE") != "SETOP_NONE":
            self._query({"SelectStmt": body.get("larg", {})}, _Scope(parent=scope))
            self._query({"SelectStmt": body.get("rarg", {})}, _Scope(parent=scope))
            return
        if body.get("intoClause") or body.get("lockingClause"):
            self.st.plain_select = False
        for item in body.get("fromClause", []):
            self._add_range(item, scope, "from")
        where = body.get("whereClause")
        if where:
            self._predicate(where, scope, "where", in_or=False)
        if body.get("havingClause"):
            self._subqueries(body["havingClause"], scope)
        targets = body.get("targetList", [])
        self._targets(targets, scope)
        for group in body.get("groupClause", []):
            self._expr_use(self._output_column(group, targets, scope, prefer_output=False),
                           scope, Use.GROUP, "group")
        distinct = body.get("distinctClause")
        if distinct:
            for target in body.get("targetList", []):
                found = node_type(target)
                if found and found[0] == "ResTarget":
                    self._expr_use(found[1].get("val"), scope, Use.GROUP, "group")
        if body.get("limitCount"):
            self.st.has_limit = True
        for sort in body.get("sortClause", []):
            found = node_type(sort)
            if not found:
                continue
            sort_body = found[1]
            direction = "desc" if sort_body.get("sortby_dir") == "SORTBY_DESC" else "asc"
            node = self._output_column(sort_body.get("node"), targets, scope, prefer_output=True)
            self._expr_use(node, scope, Use.ORDER, "order", direction=direction)

    def _output_column(self, node: Any, targets: list[Any], scope: _Scope,
                       prefer_output: bool) -> Any:
        """What `ORDER BY 2` or `ORDER BY created` (an output column's alias) sorts by: the
        select-list expression it names; any other node unchanged.

        PostgreSQL's rules: a bare name in ORDER BY is an output column first, in GROUP BY an
        input column first (an alias only when no table in scope has that column).
        """
        found = node_type(node)
        if not found:
            return node
        name, body = found
        values = [t["ResTarget"] for t in targets if node_type(t) and "ResTarget" in t]
        if name == "A_Const" and "ival" in body:
            position = int(body["ival"].get("ival", 0))
            if 1 <= position <= len(values):
                return values[position - 1].get("val")
            return node
        if name != "ColumnRef":
            return node
        fields = _strings(body.get("fields", []))
        if len(fields) != 1 or fields[0] == "*":
            return node
        aliased = [v.get("val") for v in values if v.get("name") == fields[0]]
        if len(aliased) != 1:
            return node
        if not prefer_output and self._column(body, scope) is not None:
            return node
        return aliased[0]

    def _targets(self, targets: list[Any], scope: _Scope) -> None:
        for target in targets:
            found = node_type(target)
            if not found or found[0] != "ResTarget":
                continue
            val = found[1].get("val")
            ref = node_type(val)
            if ref and ref[0] == "ColumnRef":
                fields = _strings(ref[1].get("fields", []))
                if fields and fields[-1] == "*":
                    if len(fields) == 2 and fields[0] in scope.tables:
                        self.st.select_star.add(scope.tables[fields[0]])
                    else:
                        self.st.select_star.update(scope.tables.values())
                    continue
            self._subqueries(val, scope)
            for table, column in self._columns_in(val, scope):
                self.st.selected_columns.setdefault(table, set()).add(column)

    def _modify(self, name: str, body: Json, scope: _Scope) -> None:
        self._with(body, scope)
        relation = body.get("relation")
        if relation is not None:
            self._add_range({"RangeVar": relation}, scope, "target")
        for item in body.get("fromClause", []) + body.get("usingClause", []):
            self._add_range(item, scope, "from")
        rel_alias = None
        if relation is not None:
            rel_alias = (relation.get("alias") or {}).get("aliasname") or relation.get("relname")
        target = scope.tables.get(str(rel_alias)) if rel_alias else None
        if name == "UpdateStmt" and target is not None:
            for t in body.get("targetList", []):
                found = node_type(t)
                if found:
                    self.st.updated_columns.setdefault(target, set()).add(
                        str(found[1].get("name")))
                    self._subqueries(found[1].get("val"), scope)
        if body.get("whereClause"):
            self._predicate(body["whereClause"], scope, "where", in_or=False)
        select = body.get("selectStmt")
        if select is not None:
            self._query(select, _Scope(parent=scope))

    # --- predicates ---------------------------------------------------------------------
    def _subqueries(self, node: Any, scope: _Scope) -> None:
        if not self.sublinks:
            return
        stack = [node]
        while stack:
            item = stack.pop()
            found = node_type(item)
            if found:
                name, body = found
                if name == "SubLink":
                    self._query(body.get("subselect"), _Scope(parent=scope))
                    if body.get("testexpr") is not None:
                        stack.append(body["testexpr"])
                    continue
                stack.extend(body.values())
            elif isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)

    def _predicate(self, node: Any, scope: _Scope, clause: str, in_or: bool) -> None:
        found = node_type(node)
        if not found:
            return
        name, body = found
        if name == "BoolExpr":
            op = body.get("boolop")
            args = body.get("args", [])
            if op == "OR_EXPR":
                self.st.ors.append(tuple(tuple(self._columns_in(a, scope)) for a in args))
            for arg in args:
                self._predicate(arg, scope, clause, in_or or op == "OR_EXPR")
            return
        if name == "NullTest":
            kind = Use.NULL if body.get("nulltesttype") == "IS_NULL" else Use.NOT_NULL
            self._expr_use(body.get("arg"), scope, kind, clause, in_or=in_or)
            return
        if name == "BooleanTest" or name == "ColumnRef":
            target = body.get("arg") if name == "BooleanTest" else node
            self._expr_use(target, scope, Use.EQ, clause, in_or=in_or)
            return
        if name == "SubLink":
            self._query(body.get("subselect"), _Scope(parent=scope))
            if body.get("testexpr") is not None and body.get("subLinkType") == "ANY_SUBLINK":
                self._expr_use(body["testexpr"], scope, Use.IN, clause, in_or=in_or)
            return
        if name == "A_Expr":
            self._comparison(body, scope, clause, in_or)
            return
        self._subqueries(node, scope)

    def _comparison(self, body: Json, scope: _Scope, clause: str, in_or: bool) -> None:
        kind = body.get("kind")
        op = (_strings(body.get("name", [])) or [""])[-1]
        left, right = body.get("lexpr"), body.get("rexpr")
        self._subqueries(left, scope)
        self._subqueries(right, scope)
        left_cols = self._columns_in(left, scope)
        right_cols = self._columns_in(right, scope)
        if kind == "AEXPR_OP" and op == "=" and left_cols and right_cols:
            left_tables = {t for t, _ in left_cols}
            right_tables = {t for t, _ in right_cols}
            if left_tables != right_tables:
                for side in (left, right):
                    self._expr_use(side, scope, Use.JOIN, "join" if clause == "join" else clause,
                                   in_or=in_or, operator=op)
                return
        if left_cols and right_cols:
            return  # a comparison between columns of one table: no index helps directly
        column_side, value_side = (left, right) if left_cols else (right, left)
        if not left_cols and not right_cols:
            return
        literal = _literal(value_side)
        if kind == "AEXPR_IN":
            use = Use.IN if op == "=" else Use.NE
        elif kind == "AEXPR_OP_ANY":
            use = Use.IN if op == "=" else Use.ARRAY
        elif kind in ("AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN", "AEXPR_BETWEEN_SYM"):
            use = Use.RANGE if kind != "AEXPR_NOT_BETWEEN" else Use.OTHER
        elif kind in ("AEXPR_LIKE", "AEXPR_ILIKE"):
            use = _like_use(op, literal, kind == "AEXPR_ILIKE")
        elif op == "=":
            use = Use.EQ
        elif op in RANGE_OPS:
            use = Use.RANGE
        elif op in ("<>", "!="):
            use = Use.NE
        elif op in JSONB_CONTAINS_OPS:
            use = Use.JSONB_CONTAINS
        elif op in JSONB_EXISTS_OPS:
            use = Use.JSONB_EXISTS
        elif op == "@@":
            use = Use.FULLTEXT
        elif op in ARRAY_OPS:
            use = Use.ARRAY
        elif op in ("~~", "~~*"):
            use = _like_use(op, literal, op == "~~*")
        else:
            use = Use.OTHER
        self._expr_use(column_side, scope, use, clause, in_or=in_or, operator=op, literal=literal)

    def _expr_use(self, node: Any, scope: _Scope, use: Use, clause: str, **kw: Any) -> None:
        """Record a use of a bare column, or of an expression over one table's columns."""
        found = node_type(node)
        if not found:
            return
        name, body = found
        if name == "ColumnRef":
            resolved = self._column(body, scope)
            if resolved:
                self._use(resolved[0], resolved[1], use, clause, **kw)
            return
        if name == "TypeCast" and node_type(body.get("arg")):
            inner = node_type(body.get("arg"))
            if inner and inner[0] == "ColumnRef" and use in (Use.ORDER, Use.GROUP):
                self._expr_use(body["arg"], scope, use, clause, **kw)
                return
        if name == "A_Const" or name == "ParamRef":
            return
        columns = self._columns_in(node, scope)
        tables = {t for t, _ in columns}
        if len(tables) != 1:
            return
        table = next(iter(tables))
        names = {c for _, c in columns}
        try:
            expression = self.deparse(name, body)
        except Exception:  # a node pglast cannot print: keep the use without the expression
            expression = None
        column = next(iter(names)) if len(names) == 1 else None
        if use is Use.FULLTEXT or expression is not None:
            self._use(table, column, use, clause, expression=expression, **kw)


@functools.lru_cache(maxsize=1024)
def _view_query(definition: str) -> Any:
    """The parse tree of a view's query (pg_get_viewdef text), parsed once per definition."""
    try:
        stmts = parse(definition).get("stmts", [])
    except ParseError:
        return None
    return stmts[0].get("stmt") if len(stmts) == 1 else None


def _literal(node: Any) -> str | None:
    found = node_type(node)
    if not found:
        return None
    name, body = found
    if name == "TypeCast":
        return _literal(body.get("arg"))
    if name == "A_Const":
        for key in ("sval", "ival", "fval", "boolval"):
            if key in body:
                value = body[key]
                inner = value.get(key if key != "boolval" else "boolval") if isinstance(
                    value, dict) else value
                return str(inner if inner is not None else "")
    return None


def _like_use(op: str, literal: str | None, insensitive: bool) -> Use:
    if literal is None:
        return Use.LIKE_PARAM
    if literal.startswith(("%", "_")):
        return Use.LIKE_INFIX
    return Use.LIKE_INFIX if insensitive else Use.LIKE_PREFIX


STATEMENT_KINDS = {"SelectStmt": "select", "InsertStmt": "insert", "UpdateStmt": "update",
                   "DeleteStmt": "delete", "MergeStmt": "merge"}


def describe(queryid: int, text: str, catalog: Catalog, user: str | None = None) -> Statement:
    """The model of one statement; raises ParseError or Unsupported when it has none."""
    tree, sublinks = _parse_raw(text)
    stmts = tree.get("stmts", [])
    if not stmts:
        raise Unsupported("empty statement")
    first = node_type(stmts[0].get("stmt"))
    kind = STATEMENT_KINDS.get(first[0], "utility") if first else "other"
    statement = Statement(queryid=queryid, text=text, kind=kind)
    statement.plain_select = len(stmts) == 1 and kind == "select"
    if first and first[0] == "InsertStmt":
        source = node_type(first[1].get("selectStmt"))
        statement.values_rows = len(source[1].get("valuesLists", ())) if source else 0
    if kind == "utility":
        return statement
    walker = _Walker(statement, catalog, user, sublinks)
    for raw in stmts:
        walker._query(raw.get("stmt"), _Scope())
    return statement


@dataclass
class Workload:
    """Every modelled statement, with what could not be modelled counted by reason."""

    statements: dict[int, Statement] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    failed_queryids: list[int] = field(default_factory=list)

    def on_table(self, table: TableRef) -> Iterator[Statement]:
        return (s for s in self.statements.values() if table in s.tables)


def build(texts: Mapping[int, str], catalog: Catalog, users: Mapping[int, str] | None = None,
          cache: dict[int, Statement] | None = None) -> Workload:
    """Model every (queryid, text); `cache` carries models across calls (the sidecar's)."""
    workload = Workload()
    with _collector_paused():
        _build_into(workload, texts, catalog, users, cache)
    return workload


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Parse trees are acyclic dicts freed by reference counting; letting the cyclic
    collector scan thousands of them mid-build costs more than the parsing itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build_into(workload: Workload, texts: Mapping[int, str], catalog: Catalog,
                users: Mapping[int, str] | None, cache: dict[int, Statement] | None) -> None:
    for queryid, text in texts.items():
        if cache is not None and queryid in cache and cache[queryid].text == text:
            workload.statements[queryid] = cache[queryid]
            continue
        try:
            statement = describe(queryid, text, catalog, (users or {}).get(queryid))
        except ParseError as exc:
            workload.failures["incomplete text" if _cut_off(exc) else "parse error"] += 1
            workload.failed_queryids.append(queryid)
            continue
        except (Unsupported, RecursionError, KeyError, TypeError, ValueError) as exc:
            workload.failures[f"unsupported: {type(exc).__name__}"] += 1
            workload.failed_queryids.append(queryid)
            continue
        workload.statements[queryid] = statement
        if cache is not None:
            cache[queryid] = statement


def _cut_off(error: ParseError) -> bool:
    """A syntax error at the very end: the text stops mid-statement (cut by whoever
    recorded it: pg_stat_activity at track_activity_query_size, a log line, a tool)."""
    message = str(error.args[0]) if error.args else ""
    return "at end of input" in message
