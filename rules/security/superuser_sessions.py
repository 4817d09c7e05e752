"""Applications are connected as a superuser, or their statements ran as one."""

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
    """Applications are connected as a superuser, or their statements ran as one.

    What it detects:
        Client sessions of a role with SUPERUSER whose application_name is not an
        administration tool (`admin_applications`), grouped by role; and, seen in
        pg_stat_statements whether or not the application is still connected, a
        superuser role under which the window's statements on application tables
        (SELECT, INSERT, UPDATE, DELETE, MERGE; pgsage's own are not counted) were
        called at least `min_statement_calls` times: a workload, not an administrator's
        few statements.

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
        min_statement_calls: int = field(default=100, metadata={
            "help": "calls of application statements under a superuser over the window that "
                    "make a workload."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        sessions_of = app_sessions(model, options.admin_applications)
        workload = _statement_calls(model)
        for role in sorted(set(sessions_of) | set(workload)):
            sessions = sessions_of.get(role, [])
            info = model.roles.get(role)
            superuser = info.superuser if info else any(b.is_superuser for b in sessions)
            calls, statements = workload.get(role, (0, 0))
            ran = calls >= options.min_statement_calls
            if not superuser or not (sessions or ran):
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
            seen = [apps(sessions)] if sessions else []
            if ran:
                seen.append(f"ran {calls:,} calls of {statements} statement(s) on the "
                            f"application's tables over {model.window.describe()} "
                            "(pg_stat_statements)")
            yield self.finding(
                title=(f"Application connected as superuser {role}" if sessions else
                       f"Application statements ran as superuser {role}"),
                detail=(f"Role {role} is a superuser and {' and '.join(seen)}. A superuser "
                        "bypasses every permission and row level security and can run "
                        "programs on the server (COPY ... PROGRAM): an SQL injection in that "
                        f"application owns the host. {how}"),
                object=ObjectRef(),
                action=Action(sql=sql, undo_sql=undo),
                evidence={"role": role, "sessions": len(sessions),
                          "statement_calls": calls, "statements": statements,
                          "applications": sorted({b.application_name or "" for b in sessions}),
                          "client_addrs": sorted({b.client_addr or "local" for b in sessions})},
                benefit=float(len(sessions) + statements),
            )


APPLICATION_KINDS = ("select", "insert", "update", "delete", "merge")


def _statement_calls(model: Model) -> dict[str, tuple[int, int]]:
    """Calls and statements per role over the window, of statements that read or write
    the application's tables (the model has already left pgsage's own out)."""
    frame = model.statements
    if frame.empty or "username" not in frame.columns:
        return {}
    out: dict[str, tuple[int, int]] = {}
    sums = frame.groupby(["username", "queryid"])["calls"].sum()
    for (user, queryid), calls in zip(sums.index.tolist(), sums.tolist(), strict=True):
        role = str(user)
        st = model.workload.statements.get(int(queryid))
        if st is None or st.kind not in APPLICATION_KINDS or not st.tables:
            continue
        total, count = out.get(role, (0, 0))
        out[role] = (total + int(calls), count + 1)
    return out
