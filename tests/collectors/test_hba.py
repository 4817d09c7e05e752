"""The `hba` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import snapshot

from pgsage.collectors.hba import HbaRule

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_hba_rules_as_the_server_parsed_them(pg: PgDatabase) -> None:
    rules = snapshot(pg.dsn, only=["hba"]).rows("hba", HbaRule)
    assert rules and all(r.error is None for r in rules)
    assert any(r.type == "host" and r.address == "127.0.0.1" for r in rules)
    assert [r.line_number for r in rules] == sorted(r.line_number for r in rules)
