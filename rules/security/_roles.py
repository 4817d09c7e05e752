"""Roles: applications connected as superusers or with BYPASSRLS / CREATEROLE, and how
passwords are stored."""

from __future__ import annotations

import shlex
from collections import defaultdict

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.sqlgen import ident
from pgsage.collectors.activity import Backend


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


def apps(sessions: list[Backend]) -> str:
    names = sorted({b.application_name or "unnamed" for b in sessions})
    hosts = sorted({b.client_addr or "local socket" for b in sessions})
    return f"{len(sessions)} session(s), application {', '.join(names)}, from {', '.join(hosts)}"


def set_password(role: str) -> str:
    """psql prompts for the password and sends only its SCRAM verifier: nothing to log."""
    return ("psql -X -c \"SET password_encryption = 'scram-sha-256'\" -c "
            + shlex.quote(f"\\password {ident(role)}"))


ADMIN_APPLICATIONS = ("psql,pg_dump,pg_dumpall,pg_restore,pg_basebackup,pgsage,pgadmin,"
                      "dbeaver,datagrip,pg_repack,vacuumdb,reindexdb,patroni")
