"""Statement rewrites the query rules suggest, made on pglast's tree and printed by pglast.

A rewrite is advice for the application's code, shown in a finding; pgsage never runs it.
Working on the parse tree (not on the text) keeps identifiers quoted as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pglast
from pglast import ast, enums
from pglast.stream import RawStream


def _nodes(node: Any) -> Iterator[Any]:
    if isinstance(node, ast.Node):
        yield node
        for attr in node:
            yield from _nodes(getattr(node, attr))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _nodes(item)


def _column_name(node: Any) -> str | None:
    if isinstance(node, ast.ColumnRef) and node.fields:
        last = node.fields[-1]
        return str(last.sval) if isinstance(last, ast.String) else None
    return None


def batched(text: str, column: str) -> str | None:
    """`... WHERE col = $1` -> `... WHERE col = ANY($1)`: one call for a list of keys."""
    try:
        stmts = pglast.parse_sql(text)
    except Exception:  # pglast's ParseError, or a node it cannot build
        return None
    if len(stmts) != 1:
        return None
    changed = False
    for node in _nodes(stmts[0]):
        if (isinstance(node, ast.A_Expr) and node.kind == enums.A_Expr_Kind.AEXPR_OP
                and node.name and getattr(node.name[-1], "sval", None) == "="
                and _column_name(node.lexpr) == column and isinstance(node.rexpr, ast.ParamRef)):
            node.kind = enums.A_Expr_Kind.AEXPR_OP_ANY
            changed = True
    if not changed:
        return None
    try:
        return str(RawStream()(stmts[0]))
    except Exception:
        return None


