"""Connections travel unencrypted: ssl is off, or clients connect without it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.rules._support.settings import applies, change, evidence, is_on
from pgsage.rules.base import NoOptions, Rule, register
from pgsage.rules.security._access import EDIT_HBA, is_loopback


def listens_beyond_loopback(model: Model) -> bool:
    value = model.setting("listen_addresses")
    if value is None:
        return False
    return any(not is_loopback(a.strip()) for a in value.split(","))


@register
class UnencryptedConnections(Rule[NoOptions]):
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
    """

    code: ClassVar[str] = "SE005"
    name: ClassVar[str] = "security.unencrypted_connections"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.HIGH
    Options = NoOptions

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
