"""The index plan's reasoning, for `pgsage indexes`: JSON section and human renderings."""

from __future__ import annotations

from typing import Any

from pgsage.analyzer.model.index_plan import IndexPlan
from pgsage.analyzer.model.plan_tree import Plan
from pgsage.analyzer.units import format_bytes


def plan_json(plan: IndexPlan) -> dict[str, Any]:
    return {
        "method": plan.method,
        "statements_considered": plan.statements_considered,
        "candidates_considered": plan.candidates_considered,
        "explains": plan.explains,
        "elapsed_seconds": round(plan.elapsed_s, 3),
        "stopped_by": plan.stopped_by,
        "chosen": [{"index": c.name, "definition": c.candidate.definition(name=c.name),
                    "est_index_bytes": c.size_bytes, "net_benefit": round(c.benefit, 1),
                    "write_overhead": round(c.write_overhead, 1),
                    "queryids": [str(q) for q in c.queryids],
                    "replaces": [ix.name for ix in c.replaces], "proven": c.proven}
                   for c in plan.choices],
        "rejected": [{"candidate": label, "reason": reason} for label, reason in plan.rejected],
        "already_indexed": [{"candidate": label, "by": name}
                            for label, name in plan.already_indexed],
        "skipped_statements": {str(q): why for q, why in plan.skipped_statements.items()},
        "parse_failures": dict(plan.parse_failures),
    }


def plan_text(plan: IndexPlan) -> str:
    """The reasoning as plain lines (the table and Markdown renderings add it)."""
    how = ("proven by what-if planning with HypoPG" if plan.method == "hypopg" else
           "estimated from pg_stats (install HypoPG for planner-proven advice: "
           "CREATE EXTENSION hypopg)")
    lines = [f"Index plan, {how}: {plan.statements_considered} statements and "
             f"{plan.candidates_considered} candidates considered, {plan.explains} EXPLAINs "
             f"in {plan.elapsed_s:.1f} s" + (f"; stopped by {plan.stopped_by}"
                                               if plan.stopped_by else "") + "."]
    total = sum(c.size_bytes for c in plan.choices)
    lines.append(f"Chosen: {len(plan.choices)} index(es), {format_bytes(total)} in all.")
    for c in plan.choices:
        lines.append(f"  + {c.candidate.label()} ({format_bytes(c.size_bytes)}, "
                     f"{len(c.effects)} statement(s))")
    if plan.rejected:
        lines.append("Not chosen:")
        lines.extend(f"  - {label}: {reason}" for label, reason in plan.rejected)
    if plan.already_indexed:
        lines.append("Already served by an existing index:")
        lines.extend(f"  = {label}: {name}" for label, name in plan.already_indexed)
    if plan.skipped_statements:
        lines.append("Statements not planned:")
        lines.extend(f"  ? queryid {q}: {why}" for q, why in plan.skipped_statements.items())
    if plan.parse_failures:
        lines.append("Statements that could not be parsed: " + ", ".join(
            f"{n} {why}" for why, n in plan.parse_failures.items()))
    return "\n".join(lines) + "\n"


def plan_tree(plan: Plan) -> str:
    """An EXPLAIN tree as indented lines: node, relation, index, cost, rows."""
    out: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        parts = [str(node.get("Node Type"))]
        if "Relation Name" in node:
            parts.append(f"on {node['Relation Name']}")
        if "Index Name" in node:
            parts.append(f"using {node['Index Name']}")
        parts.append(f"(cost={node.get('Startup Cost', 0):.2f}..{node.get('Total Cost', 0):.2f}"
                     f" rows={node.get('Plan Rows', 0):.0f})")
        out.append("  " * depth + ("-> " if depth else "") + " ".join(parts))
        for key in ("Index Cond", "Filter", "Sort Key"):
            if key in node:
                out.append("  " * depth + f"     {key}: {node[key]}")
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(plan.tree, 0)
    return "\n".join(out) + "\n"
