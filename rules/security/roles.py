"""Roles: applications connected as superusers or with BYPASSRLS / CREATEROLE, and how
passwords are stored."""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.collectors.activity import Backend
from pgsage.rules._settings import applies, change, evidence
from pgsage.rules.base import NoOptions, Rule, register

BOOTSTRAP_SUPERUSER_OID = 10
"""The role initdb creates; it cannot lose SUPERUSER."""


def app_sessions(model: Model, admin_applications: str) -> dict[str, list[Backend]]:
    """Client sessions by role, leaving out administration tools by application_name."""
    admin = tuple(a.strip().lower() for a in admin_applications.split(",") if a.strip())
    out: dict[str, list[Backend]] = defaultdict(list)
    for b in model.activity:
        if b.backend_type not in (None, "client backend") or not b.usename:
            continue
        app = (b.application_name or "").lower()
        if app and app.startswith(admin):
            continue
        out[b.usename].append(b)
    return out


def _apps(sessions: list[Backend]) -> str:
    names = sorted({b.application_name or "unnamed" for b in sessions})
    hosts = sorted({b.client_addr or "local socket" for b in sessions})
    return f"{len(sessions)} session(s), application {', '.join(names)}, from {', '.join(hosts)}"


def set_password(role: str) -> str:
    """psql prompts for the password and sends only its SCRAM verifier: nothing to log."""
    return ("psql -X -c \"SET password_encryption = 'scram-sha-256'\" -c "
            + shlex.quote(f"\\password {ident(role)}"))


ADMIN_APPLICATIONS = ("psql,pg_dump,pg_dumpall,pg_restore,pg_basebackup,pgsage,pgadmin,"
                      "dbeaver,datagrip,pg_repack,vacuumdb,reindexdb,patroni")


@register
class SuperuserSessions(Rule):
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

    Options:
        admin_applications: comma-separated application_name prefixes of administration
            tools, which are not reported.
    """

    code: ClassVar[str] = "SE001"
    name: ClassVar[str] = "security.superuser_sessions"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.HIGH

    @dataclass(frozen=True)
    class Options:
        admin_applications: str = ADMIN_APPLICATIONS

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
                detail=(f"Role {role} is a superuser and has {_apps(sessions)}. A superuser "
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


@register
class PrivilegedApplicationRoles(Rule):
    """Applications connect with a role that has BYPASSRLS or CREATEROLE.

    What it detects:
        Client sessions (administration tools excluded) of non-superuser roles with
        BYPASSRLS or CREATEROLE.

    Why it matters:
        BYPASSRLS ignores every row level security policy: tenant isolation built on RLS
        does not apply to that application. CREATEROLE lets the role create roles and,
        before 16, grant itself membership in almost any non-superuser role, which makes
        it nearly a superuser.

    Example:
        CREATE ROLE api LOGIN BYPASSRLS;

    What to do:
        Remove the attribute from the application's role; keep it on a separate role
        used only for administration or migrations.

    Options:
        admin_applications: comma-separated application_name prefixes of administration
            tools, which are not reported.
    """

    code: ClassVar[str] = "SE009"
    name: ClassVar[str] = "security.privileged_application_role"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        admin_applications: str = ADMIN_APPLICATIONS

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for role, sessions in sorted(app_sessions(model, options.admin_applications).items()):
            info = model.roles.get(role)
            if info is None or info.superuser:
                continue
            attrs = [a for a, on in (("BYPASSRLS", info.bypass_rls),
                                     ("CREATEROLE", info.create_role)) if on]
            if not attrs:
                continue
            yield self.finding(
                title=f"Application role {role} has {' and '.join(attrs)}",
                detail=(f"Role {role} has {_apps(sessions)} and holds "
                        f"{' and '.join(attrs)}. "
                        + ("BYPASSRLS makes it ignore every row level security policy. "
                           if info.bypass_rls else "")
                        + ("CREATEROLE lets it create roles and grant role memberships, close "
                           "to superuser power. " if info.create_role else "")
                        + "Keep such attributes on an administration role instead."),
                object=ObjectRef(),
                action=Action(sql=f"ALTER ROLE {ident(role)} "
                                  + " ".join(f"NO{a}" for a in attrs) + ";",
                              undo_sql=f"ALTER ROLE {ident(role)} " + " ".join(attrs) + ";"),
                evidence={"role": role, "attributes": attrs, "sessions": len(sessions)},
            )


@register
class WeakPasswordStorage(Rule):
    """Passwords are stored as MD5 hashes (or will be).

    What it detects:
        password_encryption = md5 (new passwords are hashed with MD5), and login roles
        whose stored password is an MD5 hash (pg_authid; readable by superusers only,
        otherwise that part is skipped).

    Why it matters:
        An MD5 hash is enough to log in with the md5 method (it is the secret itself), is
        salted only with the role name, and is cheap to brute-force. SCRAM-SHA-256 stores a
        salted, iterated verifier that cannot be replayed. MD5 passwords are deprecated
        since PostgreSQL 18.

    Example:
        SELECT rolname FROM pg_authid WHERE rolpassword LIKE 'md5%';

    What to do:
        Set password_encryption = scram-sha-256 (reload), then set each listed role's
        password again, with psql's \\password so the password never appears in a
        statement log or in pg_stat_statements. Keep `md5` in pg_hba.conf until all are
        converted (it accepts SCRAM too), then use scram-sha-256.

    Options:
        None.
    """

    code: ClassVar[str] = "SE002"
    name: ClassVar[str] = "security.md5_passwords"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.MEDIUM

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if model.setting("password_encryption") == "md5":
            yield self.finding(
                title="password_encryption is md5: new passwords get weak hashes",
                detail=("password_encryption = md5, so every password set from now on is "
                        "stored as an MD5 hash: replayable with the md5 method and cheap to "
                        "brute-force. scram-sha-256 is the default since 14. The change "
                        f"{applies(model, 'password_encryption')}."),
                object=ObjectRef(),
                action=change(model, {"password_encryption": "scram-sha-256"}),
                evidence=evidence(model, "password_encryption", "scram-sha-256"),
            )
        md5 = sorted(r.name for r in model.roles.values()
                     if r.can_login and r.password_kind == "md5")
        if md5:
            yield self.finding(
                title=f"{len(md5)} login role(s) have MD5 password hashes",
                detail=(f"The stored passwords of {', '.join(md5)} are MD5 hashes. Set them "
                        "again with password_encryption = scram-sha-256, using psql's "
                        "\\password (it sends only the verifier, so no password appears in "
                        "logs or pg_stat_statements)."),
                object=ObjectRef(),
                action=Action(shell="\n".join(set_password(r) for r in md5)),
                evidence={"roles": md5},
            )


@register
class LoginWithoutPassword(Rule):
    """Login roles have no password.

    What it detects:
        Roles with LOGIN and no stored password (pg_authid; readable by superusers only,
        otherwise the rule cannot tell and stays silent). Low: such a role can still log
        in through trust, peer, cert or GSS lines of pg_hba.conf (SE004 reports trust).

    Why it matters:
        A role without a password can only authenticate by a method that does not ask for
        one. That is fine for peer (local OS user) or certificates, but combined with a
        trust line it is open to anyone who can reach the server, and it usually means
        nobody decided how the role should authenticate.

    Example:
        CREATE ROLE report LOGIN;   -- no PASSWORD

    What to do:
        Give the role a password with psql's \\password, or make sure pg_hba.conf only
        lets it in through peer or certificate authentication; NOLOGIN if it should not
        log in at all.

    Options:
        None.
    """

    code: ClassVar[str] = "SE003"
    name: ClassVar[str] = "security.login_without_password"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.LOW

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        roles = sorted(r.name for r in model.roles.values()
                       if r.can_login and r.password_kind == "none")
        if not roles:
            return
        yield self.finding(
            title=f"{len(roles)} login role(s) without a password",
            detail=(f"{', '.join(roles)} can log in and have no password: they authenticate "
                    "only through trust, peer, certificate or GSS lines of pg_hba.conf. Give "
                    "them a password (psql \\password, so it is never logged) or confirm "
                    "those lines are what you intend; NOLOGIN roles that should not log in."),
            object=ObjectRef(),
            action=Action(shell="\n".join(set_password(r) for r in roles)),
            evidence={"roles": roles},
        )
