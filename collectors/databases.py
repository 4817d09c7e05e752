"""Every database of the cluster: transaction ID and multixact wraparound ages, size.

Wraparound is a cluster-wide risk: the oldest datfrozenxid anywhere is what matters, not
only the current database's (which `database` reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Database:
    datid: int
    datname: str
    frozenxid_age: int
    """age(datfrozenxid): transactions until wraparound protection is ~2^31 minus this."""
    minmxid_age: int
    allow_connections: bool
    is_template: bool
    connection_limit: int
    """-1 unlimited; -2 marks a database left invalid by an interrupted DROP DATABASE."""
    bytes: int | None
    """None where the role may not CONNECT (and is not in pg_read_all_stats)."""


@register
class DatabasesCollector(SqlCollector):
    name: ClassVar[str] = "databases"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = False
    record = Database
    description: ClassVar[str] = "every database: xid and multixact wraparound ages, size"
