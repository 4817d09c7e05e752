"""Per-statement totals: `Model.statements` summed per queryid, as most rules judge them.

`Model.statements` has one row per (user, database, toplevel, queryid); rules judge a
statement by its queryid, so its counters are summed over users and nesting levels once,
here, and every rule reads the same typed values (`Model.totals`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

JIT_COLUMNS = ("jit_generation_time", "jit_inlining_time", "jit_optimization_time",
               "jit_emission_time")
SUMMED = ("calls", "plans", "total_exec_time", "total_plan_time", "rows", "shared_blks_hit",
          "shared_blks_read", "temp_blks_read", "temp_blks_written", "wal_bytes",
          "jit_functions", *JIT_COLUMNS)


@dataclass(frozen=True, slots=True)
class Totals:
    """One statement's counters over the window, summed over users and nesting levels."""

    queryid: int
    calls: int
    plans: int
    exec_ms: float
    plan_ms: float
    rows: float
    shared_hit: float
    shared_read: float
    temp_read: float
    temp_written: float
    wal_bytes: float
    jit_functions: float
    jit_ms: float
    username: str | None
    toplevel: bool

    @property
    def total_ms(self) -> float:
        return self.exec_ms + self.plan_ms

    @property
    def mean_exec_ms(self) -> float:
        return self.exec_ms / self.calls if self.calls else 0.0

    @property
    def mean_plan_ms(self) -> float:
        return self.plan_ms / self.plans if self.plans else 0.0

    @property
    def rows_per_call(self) -> float:
        return self.rows / self.calls if self.calls else 0.0

    @property
    def hit_ratio(self) -> float | None:
        blocks = self.shared_hit + self.shared_read
        return self.shared_hit / blocks if blocks else None


def totals(frame: pd.DataFrame) -> dict[int, Totals]:
    """Counters per queryid over the frame's window (statements with calls only)."""
    if frame.empty:
        return {}
    present = [c for c in SUMMED if c in frame.columns]
    grouped = frame.fillna({c: 0 for c in present}).groupby("queryid")
    sums = grouped[present].sum()
    users = grouped["username"].first() if "username" in frame.columns else None
    top = grouped["toplevel"].max() if "toplevel" in frame.columns else None
    out: dict[int, Totals] = {}
    for queryid, row in sums.iterrows():
        qid = int(str(queryid))
        calls = int(row.get("calls", 0))
        if calls <= 0:
            continue
        user = users.get(queryid) if users is not None else None
        out[qid] = Totals(
            queryid=qid, calls=calls, plans=int(row.get("plans", 0)),
            exec_ms=float(row.get("total_exec_time", 0.0)),
            plan_ms=float(row.get("total_plan_time", 0.0)), rows=float(row.get("rows", 0)),
            shared_hit=float(row.get("shared_blks_hit", 0)),
            shared_read=float(row.get("shared_blks_read", 0)),
            temp_read=float(row.get("temp_blks_read", 0)),
            temp_written=float(row.get("temp_blks_written", 0)),
            wal_bytes=float(row.get("wal_bytes", 0)),
            jit_functions=float(row.get("jit_functions", 0)),
            jit_ms=float(sum(row.get(c, 0.0) for c in JIT_COLUMNS)),
            username=user if isinstance(user, str) else None,
            toplevel=bool(top.get(queryid, True)) if top is not None else True,
        )
    return out
