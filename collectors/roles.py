"""Roles: attributes from pg_roles, and how passwords are stored where pg_authid is readable.

pg_roles is readable by every role but hides passwords. The kind of each stored password
(none, md5, SCRAM) is in pg_authid, which only a superuser reads; without it the kind stays
None ("unknown") and the rest of the collector still runs. Neither query reads a password
or a hash into pgsage: the SQL returns only the kind.

Per-role settings are read for a few names that rules reason about (timeouts, work_mem),
never all of them: a custom setting can hold a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from pgsage.collectors.base import CollectorRun, ServerContext, query, records, register

ROLE_SETTINGS = ("statement_timeout", "idle_in_transaction_session_timeout",
                 "idle_session_timeout", "lock_timeout", "work_mem",
                 "log_min_duration_statement")
"""The per-role (and per-role-in-this-database) settings the collector reads."""


@dataclass(frozen=True, slots=True)
class Role:
    oid: int
    name: str
    superuser: bool
    can_login: bool
    create_role: bool
    create_db: bool
    bypass_rls: bool
    replication: bool
    connection_limit: int
    valid_until: float | None
    """Password expiry (epoch seconds); None when it never expires."""
    member_of: tuple[str, ...]
    """Roles this role is a member of (directly)."""
    config: tuple[str, ...]
    """`name=value` entries from ALTER ROLE ... SET (all databases and this one), limited to
    ROLE_SETTINGS; the database-specific entry wins."""
    password_kind: str | None = None
    """none, md5, scram-sha-256 or other; None when pg_authid is not readable."""


@register
class RolesCollector:
    name: ClassVar[str] = "roles"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = Role
    description: ClassVar[str] = "pg_roles (+ password kind from pg_authid for superusers)"

    def run(self, ctx: ServerContext) -> CollectorRun:
        rows = yield query("roles", ctx.server_version_num, {"settings": list(ROLE_SETTINGS)})
        roles = records(Role, rows)
        if not (rows and rows[0]["can_read_authid"]):
            return roles
        kinds = yield query("role_passwords", ctx.server_version_num)
        by_oid = {int(k["oid"]): str(k["password_kind"]) for k in kinds}
        return [replace(r, password_kind=by_oid.get(r.oid)) for r in roles]
