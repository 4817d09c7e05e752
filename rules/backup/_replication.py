"""High availability: whether a standby is connected, and how far behind it is."""

from __future__ import annotations

import shlex

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action
from pgsage.analyzer.sqlgen import ident
from pgsage.collectors.replication import Replica
from pgsage.rules.backup._archiving import STREAMING_ARCHIVERS
from pgsage.rules.security._access import EDIT_HBA

NOT_STANDBYS = (*STREAMING_ARCHIVERS, "pg_basebackup")


def standbys(model: Model) -> list[Replica]:
    return [r for r in model.replicas
            if not (r.application_name or "").lower().startswith(NOT_STANDBYS)]


def replication_role(model: Model) -> str | None:
    """A login role with the REPLICATION attribute a standby can connect as (a
    non-superuser first), or None when there is none."""
    roles = sorted((r for r in model.roles.values() if r.replication and r.can_login),
                   key=lambda r: (r.superuser, r.name))
    return roles[0].name if roles else None


def _hba_admits(model: Model, role: str) -> bool | None:
    """Whether a pg_hba.conf line lets `role` make replication connections over TCP;
    None when pg_hba_file_rules was not readable."""
    if not model.collected("hba"):
        return None
    return any(r.type in ("host", "hostssl") and r.error is None
               and "replication" in (r.databases or ())
               and bool({"all", role, *(f"+{g}" for g in _groups(model, role))}
                        & set(r.users or ()))
               and r.auth_method not in ("reject",) for r in model.hba_rules)


def _groups(model: Model, role: str) -> tuple[str, ...]:
    found = model.roles.get(role)
    return found.member_of if found else ()


def new_standby(model: Model, directory: str, slot: str) -> tuple[Action, str]:
    """The steps that create a streaming standby of this primary, and a sentence saying
    them: on the primary, the replication role (when none exists) and its pg_hba.conf line
    (when none admits it); on the new standby's host, pg_basebackup with this server's host
    and port, writing the standby's connection settings (-R) and its slot (-C -S)."""
    target = model.snapshot.target
    existing = replication_role(model)
    role = existing or "replicator"
    sql: list[str] = []
    steps: list[str] = []
    if existing is None:
        sql += [f"CREATE ROLE {ident(role)} WITH REPLICATION LOGIN;",
                f"-- then give it a password in psql: \\password {role}"]
        steps.append(f"create the replication role {role} (no login role has REPLICATION)")
    admitted = _hba_admits(model, role)
    shell: list[str] = []
    if not admitted:
        line = f"host replication {role} STANDBY_ADDRESS/32 scram-sha-256"
        shell.append(f"# on the primary: add to pg_hba.conf\n#   {line}\n{EDIT_HBA}")
        sql.append("-- after adding the pg_hba.conf line:\nSELECT pg_reload_conf();")
        steps.append("let it connect for replication in pg_hba.conf"
                     + (" (pg_hba.conf was not readable: check)" if admitted is None else ""))
    host = shlex.quote(target.host or "PRIMARY_HOST")
    shell.append("# on the new standby's host, with its data directory empty:\n"
                 f"pg_basebackup -h {host} -p {target.port or 5432} -U {shlex.quote(role)} "
                 f"-D {directory} -R -X stream -C -S {slot} --checkpoint=fast -P")
    steps.append(f"run pg_basebackup on the new standby's host as {role}")
    action = Action(sql="\n".join(sql) or None, shell="\n".join(shell))
    return action, "; ".join(steps)
