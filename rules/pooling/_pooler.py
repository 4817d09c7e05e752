"""Connection pooling: when the application needs a pooler, how big, and idle sessions.

PL001 recommends PgBouncer with a computed pool size and a ready pgbouncer.ini from what
pg_stat_activity and pg_stat_database show; PL002 idle sessions that hold connections
for hours. A pooler already in front is recognised and not recommended again.
"""

from __future__ import annotations

import re

from pgsage.analyzer.model.core import Model
from pgsage.collectors.activity import Backend

POOLERS = (r"pgbouncer|odyssey|pgcat|pgpool|supavisor|rds.?proxy|pgdog|pgagroal")


def clients(model: Model, backends: list[Backend] | None = None) -> list[Backend]:
    """Client backends other than pgsage's own sessions."""
    return [b for b in (model.activity if backends is None else backends)
            if b.backend_type in (None, "client backend") and b.application_name != "pgsage"]


def pooler_in_front(model: Model, pattern: str = POOLERS) -> list[str]:
    """Application names that show a pooler's server connections."""
    found = re.compile(pattern, re.IGNORECASE)
    return sorted({b.application_name for b in clients(model)
                   if b.application_name and found.search(b.application_name)})
