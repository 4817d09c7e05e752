"""Anti-patterns found in the parse tree of each statement (the workload model).

QY004 non-sargable predicates, QY005 leading-wildcard LIKE, QY006 OR across columns,
QY007 NOT IN (subquery), QY008 large OFFSET, QY009 SELECT * on wide tables, QY010
unbounded COUNT(*) on large tables, QY011 ORDER BY random().

pg_stat_statements replaces constants with `$n` placeholders, so a rule that needs a
constant (the LIKE pattern, the OFFSET) sees it only in texts that still carry it; the
others work on normalized texts.

A shape that only one rule looks for (ORDER BY random(), NOT IN (subquery), count(*)
without WHERE, OFFSET) is found by that rule in the statement's parse tree, not by the
workload walker. The workload model keeps no tree (tens of kilobytes a statement, for
thousands of statements), so a rule parses again only the texts that mention its keyword.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import ObjectRef
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.workload import (
    STATEMENT_KINDS,
    Json,
    Statement,
    TableRef,
    node_type,
    parse,
)
from pgsage.rules._support.workload import is_catalog_only


def modelled_statements(model: Model, min_calls: int) -> Iterator[tuple[Statement, Totals]]:
    """Modelled statements with their counters, busiest first, monitoring queries skipped."""
    found = model.totals
    pairs = [(s, found[q]) for q, s in model.workload.statements.items()
             if q in found and found[q].calls >= min_calls and not is_catalog_only(s)]
    yield from sorted(pairs, key=lambda p: -p[1].total_ms)


def table_ref_object(table: TableRef, columns: tuple[str, ...] | None = None) -> ObjectRef:
    return ObjectRef(table.schema, table.name, None, columns)


def query_trees(statement: Statement, keyword: str) -> list[Json]:
    """The statement's queries as libpg_query's JSON nodes, when its text mentions `keyword`
    (any case); none otherwise, and none for a utility statement (the model skips those)."""
    if statement.kind == "utility" or keyword not in statement.text.lower():
        return []
    stmts = [raw.get("stmt") for raw in parse(statement.text).get("stmts", [])]
    return [s for s in stmts if (found := node_type(s)) and found[0] in STATEMENT_KINDS]


def nodes(tree: Any, name: str) -> Iterator[Json]:
    """The body of every `name` node in a JSON parse tree, outer nodes first."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in reversed(item.items()):
                if key == name and isinstance(value, dict):
                    yield value
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(reversed(item))


def select_levels(trees: list[Json]) -> Iterator[Json]:
    """Every SELECT query level, outer first, with the arms of UNION/INTERSECT/EXCEPT (held
    in the tree without their SelectStmt wrapper)."""
    for tree in trees:
        for select in nodes(tree, "SelectStmt"):
            yield select
            arms = [select.get("larg"), select.get("rarg")]
            while arms:
                arm = arms.pop(0)
                if isinstance(arm, dict):
                    yield arm
                    arms += [arm.get("larg"), arm.get("rarg")]


def function_name(node: Any) -> str | None:
    """The unqualified name of a function call node (`pg_catalog.count(*)` -> count)."""
    found = node_type(node)
    if not found or found[0] != "FuncCall":
        return None
    names = [n["String"].get("sval") for n in found[1].get("funcname", []) if "String" in n]
    return str(names[-1]) if names else None
