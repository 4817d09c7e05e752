"""Vacuum and statistics: dead tuples and autovacuum lag, stale planner statistics,
transaction ID and multixact wraparound."""

from __future__ import annotations

from pgsage.analyzer.model.core import Model
from pgsage.collectors.tables import TableStats


def reloption(t: TableStats, name: str) -> str | None:
    for entry in t.reloptions or ():
        key, _, value = entry.partition("=")
        if key == name:
            return value
    return None


def table_setting(model: Model, t: TableStats, name: str, default: float) -> float:
    """A per-table autovacuum setting, else the server's."""
    value = reloption(t, name) or model.setting(name)
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def proposed_scale(rows: float, target_rows: int) -> float:
    """A scale factor that triggers vacuum after about `target_rows` changes (0.005-0.1)."""
    if rows <= 0:
        return 0.1
    return round(min(max(target_rows / rows, 0.005), 0.1), 3)
