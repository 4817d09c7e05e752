"""Columns the workload filters on without the index their design needs: soft-delete flags
without partial indexes, jsonb filtered by key or containment without GIN or an expression
index. Statement uses come from the workload model (analyzer.workload, one parse each).

When the index advisor (IX001) already proposes an index for the same predicate or jsonb
column, these rules stay silent: one finding per index, with the advisor's cost evidence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.index_plan import Candidate
from pgsage.analyzer.model.workload import Use

KEY_USES = (Use.EQ, Use.IN, Use.RANGE)


def plan_choices(model: Model) -> list[Candidate]:
    """The index advisor's chosen candidates (the live plan, or its estimate)."""
    return [c.candidate for c in model.index_plan.choices]


@dataclass
class Filtered:
    queryids: set[int] = field(default_factory=set)
    calls: int = 0
    uses: Counter[Use] = field(default_factory=Counter)
    keys: Counter[tuple[str, ...]] = field(default_factory=Counter)
    literals: Counter[str] = field(default_factory=Counter)
