"""Helpers rules share to read cumulative table and index counters over a window.

pg_stat_user_tables and pg_stat_user_indexes count from the last statistics reset. With a
baseline snapshot a rule reads the difference over the window between the two snapshots;
without one it reads the totals, which cover the time since the later of the server start
and this database's last statistics reset. Statistics survive a clean restart, but a crash
discards them, so the start is taken as a reset: the window is never longer than the truth.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pgsage.analyzer.model.core import Model, Window
from pgsage.collectors.indexes import IndexStats

DAY = 86_400.0


def stats_start(model: Model) -> float:
    """When the cumulative table and index counters of this database started counting."""
    return model.stats_start


def counter_window(model: Model) -> Window:
    """The window table and index counters cover (the model's when there is a baseline)."""
    return model.counter_window


def describe(window: Window) -> str:
    """Window.describe(), in days once the window is two days or longer."""
    if window.seconds < 2 * DAY:
        return window.describe()
    what = ("between two snapshots" if window.kind == "between-snapshots"
            else f"since {window.since}")
    return f"the {days(window.seconds)} {what}"


def baseline_indexes(model: Model) -> dict[int, IndexStats]:
    if model.baseline is None:
        return {}
    return {i.indexrelid: i for i in model.baseline.rows("indexes", IndexStats)}


def table_counter(model: Model, relid: int, name: str) -> int | None:
    """A pg_stat_user_tables counter over `counter_window(model)`; None when unknown."""
    return model.table_counter(relid, name)


def index_counter(model: Model, ix: IndexStats, name: str) -> int | None:
    """A pg_stat_user_indexes counter over `counter_window(model)`; None when unknown."""
    now = getattr(ix, name, None)
    if now is None:
        return None
    old = baseline_indexes(model).get(ix.indexrelid)
    before = getattr(old, name, None) if old is not None else None
    if before is None or before > now:
        return int(now)
    return int(now - before)


def days(seconds: float) -> str:
    value = seconds / DAY
    return f"{value:.1f} days" if value < 10 else f"{value:.0f} days"


def iso_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")

OUTAGE_BENEFIT = 1e15
"""Benefit of averting an outage: ranks above any space or scan saving (those are bytes)."""
