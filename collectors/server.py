"""Who the server is: version, recovery state, uptime, database size, the session's role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Server:
    server_version_num: int
    version: str
    database: str
    in_recovery: bool
    started_at: float
    collected_at: float
    database_bytes: int | None
    current_user: str
    is_superuser: bool
    has_pg_monitor: bool
    data_checksums: bool | None = None
    block_size: int = 8192


@register
class ServerCollector(SqlCollector):
    name: ClassVar[str] = "server"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = Server
    description: ClassVar[str] = "version, recovery state, start time, database size, role"
