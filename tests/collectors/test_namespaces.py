"""The `namespaces` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import by, snapshot

from pgsage.collectors.namespaces import Namespace

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_namespaces_show_create_for_public(pg: PgDatabase) -> None:
    pg.execute("CREATE SCHEMA app; GRANT CREATE ON SCHEMA app TO PUBLIC;")
    spaces = snapshot(pg.dsn, only=["namespaces"]).rows("namespaces", Namespace)
    assert by(spaces, name="app").public_create
    public = by(spaces, name="public")
    assert public.public_usage and public.public_create == (pg.version_num < 150000)
