"""Access: pg_hba.conf trust lines, unencrypted connections, CREATE on schema public."""

from __future__ import annotations

import ipaddress

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
