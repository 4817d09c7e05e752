"""Database time per finding: measured means and calls, with the planner's cost ratio for
index advice, so findings of every category can be ranked by the time a fix saves."""

from __future__ import annotations

import dataclasses
from typing import Any

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, StatementTime, TimeGain


def statement_times(model: Model) -> dict[str, tuple[float, float]]:
    """(calls, total execution ms) over the window by queryid (as a string)."""
    frame = model.statements
    if frame.empty:
        return {}
    sums = frame.groupby("queryid")[["calls", "total_exec_time"]].sum()
    return {str(int(str(q))): (float(row.calls), float(row.total_exec_time))
            for q, row in sums.iterrows()}


def _planned(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """Statements with the planner's cost before and after the fix (index advice)."""
    rows = evidence.get("statements")
    if not isinstance(rows, list):
        return []
    return [r for r in rows if isinstance(r, dict) and "queryid" in r
            and isinstance(r.get("cost_before"), int | float)
            and isinstance(r.get("cost_after"), int | float)]


def time_gain(rec: Recommendation, times: dict[str, tuple[float, float]],
              window_seconds: float) -> TimeGain | None:
    """What the finding's statements took over the window and, where the planner's costs
    are known, what the fix saves: mean x (1 - cost_after / cost_before) x calls."""
    statements: list[StatementTime] = []
    saved: float | None = None
    planned = _planned(rec.evidence)
    if planned:
        saved = 0.0
        for row in planned:
            calls, total = times.get(str(row["queryid"]), (0.0, 0.0))
            if calls <= 0 or row["cost_before"] <= 0:
                continue
            mean = total / calls
            after = mean * min(row["cost_after"] / row["cost_before"], 1.0)
            statements.append(StatementTime(str(row["queryid"]), calls, mean, after))
            saved += (mean - after) * calls
    else:
        for queryid in dict.fromkeys(str(q) for q in rec.impact.get("queryids", [])):
            calls, total = times.get(queryid, (0.0, 0.0))
            if calls > 0:
                statements.append(StatementTime(queryid, calls, total / calls))
    if not statements:
        return None
    spent = sum(s.mean_ms * s.calls for s in statements)
    return TimeGain(window_seconds, spent, saved, tuple(statements))


def with_gains(model: Model, recommendations: list[Recommendation]) -> list[Recommendation]:
    times = statement_times(model)
    seconds = model.window.seconds
    return [dataclasses.replace(r, gain=time_gain(r, times, seconds)) for r in recommendations]
