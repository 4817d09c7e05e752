"""pg_hba.conf as the server parsed it (pg_hba_file_rules).

Only superusers may read it unless an administrator grants it; without the privilege the
collector is skipped with the two GRANTs that would let it run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import CollectorRun, ServerContext, Skip, query, records, register


@dataclass(frozen=True, slots=True)
class HbaRule:
    line_number: int
    type: str | None
    """local, host, hostssl, hostnossl, hostgssenc, hostnogssenc."""
    databases: tuple[str, ...] | None
    users: tuple[str, ...] | None
    address: str | None
    netmask: str | None
    auth_method: str | None
    error: str | None
    """Set when the line does not parse (the server ignores the whole file until fixed)."""


@register
class HbaCollector:
    name: ClassVar[str] = "hba"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = HbaRule
    description: ClassVar[str] = "pg_hba_file_rules: authentication rules (superuser or grant)"

    def run(self, ctx: ServerContext) -> CollectorRun:
        check = yield query("hba_privilege", ctx.server_version_num)
        if not (check and check[0]["readable"]):
            raise Skip("pg_hba_file_rules is readable by superusers only (GRANT SELECT ON "
                       "pg_hba_file_rules TO <role>; GRANT EXECUTE ON FUNCTION "
                       "pg_hba_file_rules() TO <role>)")
        rows = yield query(self.name, ctx.server_version_num)
        return records(HbaRule, rows)
