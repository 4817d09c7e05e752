"""Access: pg_hba.conf trust lines, unencrypted connections, CREATE on schema public."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.collectors.hba import HbaRule
from pgsage.rules._settings import applies, change, evidence, is_on
from pgsage.rules.base import NoOptions, Rule, register

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", ""}
EDIT_HBA = "${EDITOR:-vi} \"$(psql -XAtc 'SHOW hba_file')\""


def is_loopback(address: str | None) -> bool:
    if address is None:
        return True
    if address in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def listens_beyond_loopback(model: Model) -> bool:
    value = model.setting("listen_addresses")
    if value is None:
        return False
    return any(not is_loopback(a.strip()) for a in value.split(","))


def _line(r: HbaRule) -> str:
    where = f"{r.address}" + (f"/{r.netmask}" if r.netmask else "") if r.address else ""
    parts = [r.type or "?", ",".join(r.databases or ()), ",".join(r.users or ()), where,
             r.auth_method or "?"]
    return " ".join(p for p in parts if p)


@register
class TrustAuthentication(Rule):
    """pg_hba.conf lets connections in without a password (trust), or sends it in clear.

    What it detects:
        pg_hba.conf lines (from pg_hba_file_rules: superusers, or a role granted access)
        with method `trust`: high for TCP lines reaching beyond the host, medium for
        loopback and local socket lines (any local OS user becomes any database role);
        and lines with method `password` (clear text on the wire), medium.

    Why it matters:
        trust accepts whatever role name the client claims, postgres included: anyone who
        can reach the server is a superuser. `password` sends the password unencrypted
        unless the line is hostssl.

    Example:
        host  all  all  0.0.0.0/0  trust

    What to do:
        Change the lines to scram-sha-256 (or peer for local sockets, cert for client
        certificates), make sure the roles have passwords first, then reload.

    Options:
        None.
    """

    code: ClassVar[str] = "SE004"
    name: ClassVar[str] = "security.hba_trust"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.HIGH

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        for method in ("trust", "password"):
            lines = [r for r in model.hba_rules if r.auth_method == method]
            if lines:
                yield self._finding(method, lines)

    def _finding(self, method: str, lines: list[HbaRule]) -> Recommendation:
        remote = [r for r in lines if r.type != "local" and not is_loopback(r.address)]
        if method == "trust":
            severity = Severity.HIGH if remote else Severity.MEDIUM
            risk = ("anyone who can reach the server can connect as any role, postgres "
                    "included" if remote else
                    "any local user of the host can connect as any role, postgres included")
        else:
            severity = Severity.MEDIUM
            risk = "passwords cross the network in clear text"
        changes = [f"line {r.line_number}: {method} -> {_better(r, method)}" for r in lines]
        return self.finding(
            severity=severity,
            title=f"pg_hba.conf has {len(lines)} line(s) with {method} authentication",
            detail=(f"pg_hba.conf authenticates with {method} on "
                    + "; ".join(f"line {r.line_number} ({_line(r)})" for r in lines)
                    + f": {risk}. Change them as listed in the action (roles need a password "
                    "for scram-sha-256: set it with psql's \\password first), then reload."),
            object=ObjectRef(),
            action=Action(sql="-- after editing pg_hba.conf:\n"
                              "SELECT pg_reload_conf();\n"
                              "SELECT line_number, error FROM pg_hba_file_rules "
                              "WHERE error IS NOT NULL;",
                          shell=f"{EDIT_HBA}  # " + "; ".join(changes)),
            evidence={"method": method, "lines": [r.line_number for r in lines],
                      "remote_lines": [r.line_number for r in remote],
                      "rules": [_line(r) for r in lines]},
        )


def _better(r: HbaRule, method: str) -> str:
    return "peer" if method == "trust" and r.type == "local" else "scram-sha-256"


@register
class UnencryptedConnections(Rule):
    """Connections travel unencrypted: ssl is off, or clients connect without it.

    What it detects:
        ssl = off while the server listens beyond the loopback interface (high); or
        client sessions from other hosts connected without SSL (medium), counted from
        pg_stat_ssl.

    Why it matters:
        Without TLS, queries, results and (with md5 or password methods) credentials
        cross the network readable by anyone on the path, and a client cannot tell it is
        talking to the real server.

    Example:
        ssl = off, listen_addresses = '*'

    What to do:
        Install a certificate and key (ssl_cert_file, ssl_key_file), turn ssl on (reload),
        make remote lines `hostssl` in pg_hba.conf so plain connections are refused, and
        have clients use sslmode=verify-full.

    Options:
        None.
    """

    code: ClassVar[str] = "SE005"
    name: ClassVar[str] = "security.unencrypted_connections"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.HIGH

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        listen = model.setting("listen_addresses")
        if is_on(model, "ssl") is False and listens_beyond_loopback(model):
            yield self.finding(
                title=f"ssl is off while listening on {listen}",
                detail=(f"ssl = off and the server listens on {listen}: every connection from "
                        "another host, its queries, results and credentials, crosses the "
                        "network unencrypted. Install a certificate and key, turn ssl on "
                        f"(it {applies(model, 'ssl')}), then require it in pg_hba.conf "
                        "with hostssl lines."),
                object=ObjectRef(),
                action=change(model, {"ssl": "on"}),
                evidence=evidence(model, "ssl", "on", listen_addresses=listen),
            )
            return
        plain = [b for b in model.activity
                 if b.backend_type in (None, "client backend") and b.ssl is False
                 and not is_loopback(b.client_addr)]
        if plain:
            clients = sorted({f"{b.usename}@{b.client_addr}" for b in plain})
            yield self.finding(
                severity=Severity.MEDIUM,
                title=f"{len(plain)} remote sessions connected without SSL",
                detail=(f"{len(plain)} sessions from other hosts ({', '.join(clients[:10])}) "
                        "are not encrypted although the server "
                        + ("offers SSL" if is_on(model, "ssl") else "could offer SSL")
                        + ": their traffic is readable on the network. Make the remote lines "
                        "of pg_hba.conf `hostssl` so plain connections are refused, and set "
                        "sslmode=verify-full in the clients."),
                object=ObjectRef(),
                action=Action(sql="-- after changing host lines to hostssl in pg_hba.conf:\n"
                                  "SELECT pg_reload_conf();",
                              shell=f"{EDIT_HBA}  # host -> hostssl for remote clients"),
                evidence={"plain_sessions": len(plain), "clients": clients,
                          "ssl": model.setting("ssl")},
            )


@register
class PublicSchemaCreate(Rule):
    """Every role may create objects in a schema (CREATE for PUBLIC).

    What it detects:
        Schemas where PUBLIC holds CREATE: schema public on databases created before
        PostgreSQL 15 (and upgraded ones), or any schema granted so.

    Why it matters:
        Any role that can connect can create functions and operators there. Because
        public is on everyone's search_path, a malicious object with the same name as one
        a privileged user calls unqualified (CVE-2018-1058) runs with that user's rights.

    Example:
        GRANT CREATE ON SCHEMA public TO PUBLIC;   -- the default before 15

    What to do:
        REVOKE CREATE ON SCHEMA ... FROM PUBLIC, and grant CREATE to the roles that own
        the application's objects.

    Options:
        None.

    References:
        https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATTERNS
    """

    code: ClassVar[str] = "SE006"
    name: ClassVar[str] = "security.public_schema_create"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.MEDIUM

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        for ns in model.namespaces:
            if not ns.public_create:
                continue
            yield self.finding(
                title=f"Every role may create objects in schema {ns.name}",
                detail=(f"PUBLIC holds CREATE on schema {ns.name} (owner {ns.owner}): any role "
                        "that can connect can create functions, operators and tables there, "
                        "and objects on the search_path can hijack unqualified calls made by "
                        "other users (CVE-2018-1058). Revoke it; grant CREATE to the roles "
                        "that own the application's objects."),
                object=ObjectRef(ns.name, None, None, None),
                action=Action(sql=f"REVOKE CREATE ON SCHEMA {ident(ns.name)} FROM PUBLIC;",
                              undo_sql=f"GRANT CREATE ON SCHEMA {ident(ns.name)} TO PUBLIC;"),
                evidence={"schema": ns.name, "owner": ns.owner},
            )
