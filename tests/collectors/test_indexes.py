"""The `indexes` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from collector_support import SHOP, by, seed, snapshot
from psycopg import errors as pg_errors

from pgsage.collectors.indexes import IndexStats

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_indexes_show_a_partial_index_predicate(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    idx = by(snapshot(pg.dsn).rows("indexes", IndexStats), name="orders_pending_idx")
    assert idx.predicate == "(status = 'pending'::text)"
    assert idx.columns == ("created_at",) and idx.method == "btree"


def test_indexes_show_an_expression_key_as_none_column(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    idx = by(snapshot(pg.dsn).rows("indexes", IndexStats), name="orders_lower_email_idx")
    assert idx.columns == (None,)
    assert idx.expressions == "lower(email)"


def test_indexes_flag_an_invalid_index_left_by_a_failed_concurrent_build(
        pg: PgDatabase) -> None:
    seed(pg, SHOP)
    with pytest.raises(pg_errors.UniqueViolation):
        pg.execute("CREATE UNIQUE INDEX CONCURRENTLY orders_status_uniq ON orders (status)")
    idx = by(snapshot(pg.dsn).rows("indexes", IndexStats), name="orders_status_uniq")
    assert idx.is_unique and not idx.is_valid


def test_indexes_tell_which_back_constraints_and_foreign_keys(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    indexes = snapshot(pg.dsn).rows("indexes", IndexStats)
    pkey = by(indexes, name="customers_pkey")
    assert pkey.is_primary and pkey.constraint_type == "p"
    assert pkey.referenced_by_fk
    assert not by(indexes, name="orders_pkey").referenced_by_fk
