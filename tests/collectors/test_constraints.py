"""The `constraints` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import SHOP, by, seed, snapshot

from pgsage.collectors.constraints import Constraint

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_constraints_describe_a_foreign_key(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    fk = by(snapshot(pg.dsn).rows("constraints", Constraint), type="f")
    assert (fk.table, fk.columns) == ("orders", ("customer_id",))
    assert (fk.ref_table, fk.ref_columns) == ("customers", ("id",))
    assert (fk.on_delete, fk.on_update) == ("c", "a")
    assert fk.validated and not fk.deferrable
