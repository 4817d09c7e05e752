"""Plan trees as rules and the advisor read them: shapes, hashes, records.

Pure data and functions over EXPLAIN (FORMAT JSON) trees; the session that produces
them lives in `analyzer.live.explain`. The plan hash covers a plan's shape (node types,
join types and strategies, relations, indexes, scan direction), not costs or row
estimates: statistics drift changes costs on every ANALYZE, while a changed shape is a
different plan.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pgsage.analyzer.model.workload import Statement
from pgsage.collectors.plans import StatementPlan


class NotExplainable(Exception):
    """The statement may not or could not be planned; the message says why."""


@dataclass(frozen=True, slots=True)
class Plan:
    total_cost: float
    rows: float
    tree: dict[str, Any]

    def index_names(self) -> set[str]:
        return {n["Index Name"] for n in self.nodes() if "Index Name" in n}

    def nodes(self) -> Iterator[dict[str, Any]]:
        stack = [self.tree]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.get("Plans", []))



Node = dict[str, Any]

SHAPE_KEYS = ("Node Type", "Join Type", "Strategy", "Partial Mode", "Parent Relationship",
              "Scan Direction", "Relation Name", "Schema", "Index Name", "Subplan Name",
              "CTE Name", "Command")
"""What a plan hash covers: everything that makes a plan a different plan, no numbers."""


CATALOG_NAME = re.compile(r"^(?:[^.]+\.)?(?:pg_|information_schema\.)", re.IGNORECASE)
"""A system catalog or view, or a monitoring view an extension adds in any schema
(`public.pg_stat_statements_info`): pgsage's own collection reads those."""


def catalog_only(statement: Statement | None) -> bool:
    """A statement about the catalog only: monitoring tools, pgsage's own collection.

    Its relations all resolve to none of the snapshot's tables and are named like system
    catalogs and views (pg_*, information_schema.*). Such statements are not the
    application's workload: they are neither planned nor judged by the query rules.
    """
    if statement is None:
        return False
    return not statement.tables and bool(statement.unresolved) and all(
        CATALOG_NAME.match(name) for name in statement.unresolved)


def walk(tree: Node) -> Iterator[tuple[Node, Node | None]]:
    """Every node of a plan tree with its parent, parents first."""
    stack: list[tuple[Node, Node | None]] = [(tree, None)]
    while stack:
        node, parent = stack.pop()
        yield node, parent
        stack.extend((child, node) for child in reversed(node.get("Plans", [])))


def _shape(node: Node) -> list[Any]:
    return [[node.get(k) for k in SHAPE_KEYS], [_shape(c) for c in node.get("Plans", [])]]


def plan_hash(tree: Node) -> str:
    """A short stable hash of the plan's shape (see `SHAPE_KEYS`)."""
    text = json.dumps(_shape(tree), separators=(",", ":"), sort_keys=False)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def record(queryid: int, plan: Plan) -> StatementPlan:
    relations: list[str] = []
    indexes: list[str] = []
    for node, _ in walk(plan.tree):
        if "Relation Name" in node:
            schema = node.get("Schema")  # only in VERBOSE plans
            name = f"{schema}.{node['Relation Name']}" if schema else str(node["Relation Name"])
            if name not in relations:
                relations.append(name)
        if "Index Name" in node and node["Index Name"] not in indexes:
            indexes.append(str(node["Index Name"]))
    return StatementPlan(queryid=queryid, plan_hash=plan_hash(plan.tree),
                      total_cost=plan.total_cost,
                      startup_cost=float(plan.tree.get("Startup Cost", 0.0)),
                      plan_rows=plan.rows, relations=tuple(relations), indexes=tuple(indexes),
                      tree=plan.tree)


def top_queryids(statements: pd.DataFrame, limit: int) -> list[int]:
    """Queryids by total planning + execution time over the window, largest first."""
    if statements.empty:
        return []
    frame = statements.assign(
        _time=statements["total_exec_time"].fillna(0) + statements["total_plan_time"].fillna(0))
    totals = frame.groupby("queryid")["_time"].sum().sort_values(ascending=False)
    return [int(str(q)) for q, t in totals.items() if t > 0][:limit]


