"""One index, proposed once: a rule that would propose an index the index advisor (IX001)
already chose for the same statement and table says so at INFO instead, naming IX001's index
and keeping its own evidence, so the report never lists one index twice."""

from __future__ import annotations

from typing import Any

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import TableRef
from pgsage.rules._support.workload import advisor_choices_for
from pgsage.rules.base import Rule


def deferred_to_ix001(rule: Rule[Any], model: Model, queryid: int, table: TableRef, what: str,
                      detail: str, evidence: dict[str, Any], benefit: float
                      ) -> Recommendation | None:
    """The INFO finding deferring to IX001's index on `table` for `queryid`, or None when
    the advisor chose none; `what` opens the title (`Seq scan of orders`)."""
    covered = next((c.name for c in advisor_choices_for(model, queryid)
                    if c.candidate.table.relid == table.relid), None)
    if covered is None:
        return None
    return rule.finding(
        severity=Severity.INFO,
        title=f"{what} in queryid {queryid}: IX001's {covered} serves it",
        detail=f"{detail} The index advisor proposes {covered} for it (IX001).",
        object=ObjectRef(table.schema, table.name),
        impact={"queryids": [queryid]},
        evidence={**evidence, "index_advisor": covered}, benefit=benefit)
