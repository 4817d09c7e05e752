"""Row level security: tables with RLS enabled or with policies (pg_class + pg_policy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class RowSecurity:
    relid: int
    schema: str
    table: str
    enabled: bool
    """ALTER TABLE ... ENABLE ROW LEVEL SECURITY."""
    forced: bool
    """FORCE ROW LEVEL SECURITY: the owner is subject to the policies too."""
    policies: int


@register
class RowSecurityCollector(SqlCollector):
    name: ClassVar[str] = "row_security"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = RowSecurity
    description: ClassVar[str] = "tables with row level security enabled or with policies"
