"""The server settings rules reason about (pg_settings), with units and restart context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    setting: str | None
    unit: str | None
    vartype: str
    context: str
    source: str
    boot_val: str | None
    reset_val: str | None
    pending_restart: bool


@register
class SettingsCollector(SqlCollector):
    name: ClassVar[str] = "settings"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = Setting
    description: ClassVar[str] = (
        "pg_settings: memory, WAL, autovacuum, connections, logging, track_*")
