"""How rules word counter windows and dates, and how an averted outage ranks.

The counters themselves are read from the model (`Model.table_counter`,
`Model.index_counter`, `Model.counter_window`), which knows over which window they count.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pgsage.analyzer.model.core import Window

DAY = 86_400.0


def describe(window: Window) -> str:
    """Window.describe(), in days once the window is two days or longer."""
    if window.seconds < 2 * DAY:
        return window.describe()
    what = ("between two snapshots" if window.kind == "between-snapshots"
            else f"since {window.since}")
    return f"the {days(window.seconds)} {what}"


def days(seconds: float) -> str:
    value = seconds / DAY
    return f"{value:.1f} days" if value < 10 else f"{value:.0f} days"


def iso_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


OUTAGE_BENEFIT = 1e15
"""Benefit of averting an outage: ranks above any space or scan saving (those are bytes)."""
