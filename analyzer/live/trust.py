"""Which statements pgsage may plan: every function the planner could run must be trusted.

PostgreSQL runs code while it plans, also for a plain EXPLAIN: it constant-folds IMMUTABLE
functions, calls STABLE ones and operator functions to estimate selectivity, and pulls in
expressions the text never shows (view rules, row security policies, index expressions,
CHECK constraints, extended statistics, domain constraints). A function any application
role owns could therefore write, switch pgsage's safety settings off or hold locks in
pgsage's session. The planner refuses such statements before it sends them.

The check is conservative by name: `collect_names` takes every name a statement resolves
against the catalog from its parse tree, and one catalog query (`sql/trust_check.sql`)
resolves each name to every object it could mean under the session's search_path (all
overloads, every schema on the path), follows what those objects pull in, and returns a row
per problem. A function is trusted when it is built in or in pg_catalog; when its schema or
its name was named by the user (`TrustOptions`); or when a superuser owns it, in a schema a
superuser owns that no one else may CREATE in, and its body cannot be redirected (C,
internal, a SQL-standard body, a pinned search_path, or not SECURITY DEFINER under a search
path of trusted schemas only). Names that do not resolve and objects pgsage lacks the
privilege for are reported too, so that nothing pgsage sends fails in the server's log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

Json = dict[str, Any]
Name = tuple[str | None, str]

NAMEDATALEN = 63
"""Bytes of an identifier the server keeps; longer names are truncated as it would."""

BETWEEN_OPS = ("<", "<=", ">", ">=")
IMPLICIT_EQ = "="


@dataclass(frozen=True)
class TrustOptions:
    """Code the user vouches for although its owner or schema is not trusted."""

    functions: tuple[str, ...] = ()
    """`schema.name` of functions trusted whoever owns them (every overload)."""
    schemas: tuple[str, ...] = ()
    """Schemas whose functions are all trusted."""

    def params(self) -> dict[str, list[str]]:
        return {"trusted_roles": [], "trusted_schemas": list(self.schemas),
                "trusted_functions": list(self.functions)}


def check_sql() -> str:
    """The trust, resolution and privilege query (psycopg named placeholders)."""
    return files("pgsage.analyzer.live").joinpath("sql/trust_check.sql").read_text()


def _ident(name: str) -> str:
    raw = name.encode()
    return name if len(raw) <= NAMEDATALEN else raw[:NAMEDATALEN].decode(errors="ignore")


def _strings(items: Any) -> list[str]:
    out: list[str] = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("String"), dict):
            out.append(str(item["String"].get("sval", "")))
    return out


def _qualified(names: list[str]) -> Name | None:
    """(schema or None, name) from a possibly qualified name (`catalog.schema.name` too)."""
    if not names:
        return None
    return (_ident(names[-2]) if len(names) >= 2 else None, _ident(names[-1]))


class _Collector:
    def __init__(self) -> None:
        self.functions: set[Name] = set()
        self.operators: set[Name] = set()
        self.types: set[Name] = set()
        self.attributes: set[Name] = set()
        self.relations: set[Name] = set()
        self.ctes: set[str] = set()
        self.dml = False

    def operator(self, names: list[str]) -> None:
        name = _qualified(names)
        if name is not None:
            self.operators.add(name)

    def visit(self, root: Any) -> None:
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                for kind, body in node.items():
                    if isinstance(body, dict):
                        self.node(kind, body)
                        stack.append(body)
                    elif isinstance(body, list):
                        stack.append(body)

    def node(self, kind: str, body: Json) -> None:
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, body)

    def func_call(self, body: Json) -> None:
        name = _qualified(_strings(body.get("funcname")))
        if name is not None:
            self.functions.add(name)  # also looked up as a type: `mytype(x)` is a cast

    def a_expr(self, body: Json) -> None:
        kind = str(body.get("kind", "AEXPR_OP"))
        if "BETWEEN" in kind:
            for op in BETWEEN_OPS:
                self.operator([op])
        else:
            self.operator(_strings(body.get("name")))

    def sublink(self, body: Json) -> None:
        if body.get("subLinkType") in ("ANY_SUBLINK", "ALL_SUBLINK", "ROWCOMPARE_SUBLINK"):
            self.operator(_strings(body.get("operName")) or [IMPLICIT_EQ])

    def join(self, body: Json) -> None:
        if body.get("usingClause") or body.get("isNatural"):
            self.operator([IMPLICIT_EQ])

    def case(self, body: Json) -> None:
        if body.get("arg") is not None:
            self.operator([IMPLICIT_EQ])

    def sort_by(self, body: Json) -> None:
        if body.get("useOp"):
            self.operator(_strings(body.get("useOp")))

    def type_name(self, body: Json) -> None:
        name = _qualified(_strings(body.get("names")))
        if name is not None:
            self.types.add(name)

    def typed(self, body: Json) -> None:
        if isinstance(body.get("typeName"), dict):
            self.type_name(body["typeName"])

    def range_var(self, body: Json) -> None:
        if body.get("relname"):
            schema = body.get("schemaname")
            self.relations.add((_ident(str(schema)) if schema else None,
                                _ident(str(body["relname"]))))

    def table_sample(self, body: Json) -> None:
        name = _qualified(_strings(body.get("method")))
        if name is not None:
            self.functions.add(name)

    def cte(self, body: Json) -> None:
        if body.get("ctename"):
            self.ctes.add(_ident(str(body["ctename"])))

    def column_ref(self, body: Json) -> None:
        fields = _strings(body.get("fields"))
        if len(fields) >= 2:  # `t.f` is the call `f(t)` when t has no column f
            self.attributes.add((None, _ident(fields[-1])))

    def indirection(self, body: Json) -> None:
        for name in _strings(body.get("indirection")):
            self.attributes.add((None, _ident(name)))

    def modifies(self, body: Json) -> None:
        self.dml = True


_HANDLERS = {
    "FuncCall": _Collector.func_call, "A_Expr": _Collector.a_expr,
    "SubLink": _Collector.sublink, "JoinExpr": _Collector.join, "CaseExpr": _Collector.case,
    "SortBy": _Collector.sort_by, "TypeName": _Collector.type_name,
    "TypeCast": _Collector.typed, "ColumnDef": _Collector.typed,
    "XmlSerialize": _Collector.typed, "CreateDomainStmt": _Collector.typed,
    "RangeVar": _Collector.range_var, "RangeTableSample": _Collector.table_sample,
    "CommonTableExpr": _Collector.cte, "ColumnRef": _Collector.column_ref,
    "A_Indirection": _Collector.indirection, "InsertStmt": _Collector.modifies,
    "UpdateStmt": _Collector.modifies, "DeleteStmt": _Collector.modifies,
    "MergeStmt": _Collector.modifies,
}


def collect_names(tree: Json) -> Json:
    """The names of a libpg_query JSON tree the trust check resolves, as its `names` input.

    {"functions", "operators", "types", "relations", "attributes": [[schema|null, name]],
    "ctes": [name], "dml": bool}, sorted. Functions are also looked up as types (a
    function-style cast parses as a call); attributes are the last names of `a.b` and
    `(x).b`, calls `b(a)` when `a` has no column `b`, checked only where such a function
    exists. CTE names are listed so that they are not taken for missing tables.
    """
    collector = _Collector()
    for raw in tree.get("stmts", []) if isinstance(tree.get("stmts"), list) else ():
        if isinstance(raw, dict):
            collector.visit(raw.get("stmt"))

    def rows(items: set[Name]) -> list[list[str | None]]:
        return [list(x) for x in sorted(items, key=lambda x: (x[0] or "", x[1]))]

    return {"functions": rows(collector.functions), "operators": rows(collector.operators),
            "types": rows(collector.types), "relations": rows(collector.relations),
            "attributes": rows(collector.attributes), "ctes": sorted(collector.ctes),
            "dml": collector.dml}


def check_params(tree: Json, options: TrustOptions) -> dict[str, Any]:
    """The parameters of `check_sql()` for one statement."""
    return {"names": json.dumps(collect_names(tree)), **options.params()}


def describe(problems: list[dict[str, Any]]) -> str | None:
    """`not planned: calls app.esc() (owner app is not a superuser)`; None when trusted."""
    if not problems:
        return None
    first = problems[0]
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"not planned: {first['verb']} {first['object']} ({first['reason']}){more}"
