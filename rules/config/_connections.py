"""Connections and sessions: max_connections far above use, transactions left open without a
timeout to end them."""

from __future__ import annotations

from pgsage.collectors.activity import Backend


def client_backends(backends: list[Backend]) -> list[Backend]:
    return [b for b in backends if b.backend_type in (None, "client backend")]
