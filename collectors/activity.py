"""Backends: one row per pg_stat_activity entry except pgsage's own, never the query text.

The query text can hold literals, passwords included, so it is not read at all; `query_id`
links a backend to pg_stat_statements instead. Ages are seconds (or transactions for the
xid ages) measured from the start of the collecting statement. Without pg_read_all_stats
(part of pg_monitor) other roles' backends show only pid, user, database and type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Backend:
    pid: int
    leader_pid: int | None
    """The parallel group leader, for a parallel worker."""
    datname: str | None
    usename: str | None
    is_superuser: bool | None
    application_name: str | None
    client_addr: str | None
    """None for local (Unix socket) connections and background processes."""
    backend_type: str | None
    state: str | None
    wait_event_type: str | None
    wait_event: str | None
    backend_start_age: float | None
    xact_start_age: float | None
    query_start_age: float | None
    state_change_age: float | None
    backend_xid_age: int | None
    backend_xmin_age: int | None
    query_id: int | None
    ssl: bool | None


@register
class ActivityCollector(SqlCollector):
    name: ClassVar[str] = "activity"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = True
    record = Backend
    description: ClassVar[str] = "pg_stat_activity without query texts: states, waits, ages"
