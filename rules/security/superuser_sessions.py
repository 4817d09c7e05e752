"""Applications are connected as a superuser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.rules.base import Rule, register
from pgsage.rules.security._roles import ADMIN_APPLICATIONS, app_sessions, apps

BOOTSTRAP_SUPERUSER_OID = 10
"""The role initdb creates; it cannot lose SUPERUSER."""


@register
class SuperuserSessions(Rule["SuperuserSessions.Options"]):
    """Applications are connected as a superuser.

    What it detects:
        Client sessions of a role with SUPERUSER whose application_name is not an
        administration tool (`admin_applications`), grouped by role.

    Why it matters:
        A superuser bypasses every permission check and row level security, can read
        files on the server and run programs as the postgres OS user (COPY ... PROGRAM).
        An SQL injection in an application connected as a superuser is a compromise of
        the database server, not just of the application's data.

    Example:
        the web application connects as postgres

    What to do:
        Give the application a role of its own with only what it needs. The action makes
        an application role that can read and write all data (pg_read_all_data and
        pg_write_all_data, 14+) as a first step; narrow it to GRANTs on its schemas, and set
        its password with psql's \\password so it never appears in a log.
    """

    code: ClassVar[str] = "SE001"
    name: ClassVar[str] = "security.superuser_sessions"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        admin_applications: str = field(default=ADMIN_APPLICATIONS, metadata={
            "help": "comma-separated application_name prefixes of administration tools, which are "
                    "not reported."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for role, sessions in sorted(app_sessions(model, options.admin_applications).items()):
            info = model.roles.get(role)
            superuser = info.superuser if info else any(b.is_superuser for b in sessions)
            if not superuser:
                continue
            app = next((b.application_name for b in sessions if b.application_name), None)
            if info is not None and info.oid != BOOTSTRAP_SUPERUSER_OID:
                sql = (f"ALTER ROLE {ident(role)} NOSUPERUSER;\n"
                       f"GRANT pg_read_all_data, pg_write_all_data TO {ident(role)};")
                undo = f"ALTER ROLE {ident(role)} SUPERUSER;"
                how = f"Take SUPERUSER away from {role} and grant it data access instead."
            else:
                new = re.sub(r"[^a-z0-9_]+", "_", (app or "app").lower()).strip("_") or "app"
                new = f"{new}_app"[:63]
                sql = (f"CREATE ROLE {ident(new)} LOGIN IN ROLE pg_read_all_data, "
                       f"pg_write_all_data;\n-- then in psql: \\password {new}")
                undo = f"DROP ROLE {ident(new)};"
                how = (f"{role} is the bootstrap superuser and keeps SUPERUSER: create a role "
                       f"for the application ({new}) and switch its connection string to it.")
            yield self.finding(
                title=f"Application connected as superuser {role}",
                detail=(f"Role {role} is a superuser and has {apps(sessions)}. A superuser "
                        "bypasses every permission and row level security and can run "
                        "programs on the server (COPY ... PROGRAM): an SQL injection in that "
                        f"application owns the host. {how}"),
                object=ObjectRef(),
                action=Action(sql=sql, undo_sql=undo),
                evidence={"role": role, "sessions": len(sessions),
                          "applications": sorted({b.application_name or "" for b in sessions}),
                          "client_addrs": sorted({b.client_addr or "local" for b in sessions})},
                benefit=float(len(sessions)),
            )
