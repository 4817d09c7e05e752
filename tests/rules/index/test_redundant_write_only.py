"""IX003 redundant and IX007 write-only indexes, from small models (no database)."""

from __future__ import annotations

from factories import make_index, make_model, make_pkey, make_table

from pgsage.rules.index.redundant import RedundantIndex
from pgsage.rules.index.write_only import WriteOnlyIndex


def redundant(**model: object) -> list[str]:
    found = RedundantIndex().check(make_model(**model), RedundantIndex.Options())  # type: ignore[arg-type]
    return [r.object.index or "" for r in found]


def write_only(**model: object) -> list[str]:
    found = WriteOnlyIndex().check(make_model(**model), WriteOnlyIndex.Options())  # type: ignore[arg-type]
    return [r.object.index or "" for r in found]


def test_an_index_that_leads_a_wider_one_is_redundant() -> None:
    t = make_table()
    narrow = make_index(t, "o_user", ("user_id",))
    wide = make_index(t, "o_user_created", ("user_id", "created_at"))
    assert redundant(tables=[t], indexes=[narrow, wide]) == ["o_user"]


def test_the_wider_index_itself_is_not_redundant() -> None:
    t = make_table()
    assert redundant(tables=[t], indexes=[make_index(t, "a", ("a", "b")),
                                          make_index(t, "b", ("b", "a"))]) == []


def test_a_unique_prefix_is_kept_because_it_enforces_a_rule() -> None:
    t = make_table()
    assert redundant(tables=[t], indexes=[make_pkey(t, ("id",)),
                                          make_index(t, "id_name", ("id", "name"))]) == []


def test_a_different_sort_order_or_predicate_is_not_a_prefix() -> None:
    t = make_table()
    desc = make_index(t, "d", ("a",), options=(1,))
    partial = make_index(t, "p", ("a",), predicate="(deleted_at IS NULL)")
    wide = make_index(t, "w", ("a", "b"))
    assert redundant(tables=[t], indexes=[desc, partial, wide]) == []


def test_identical_indexes_are_left_to_the_duplicate_rule() -> None:
    t = make_table()
    assert redundant(tables=[t], indexes=[make_index(t, "x", ("a",)),
                                          make_index(t, "y", ("a",))]) == []


def test_an_index_scanned_rarely_on_a_write_heavy_table_is_write_only() -> None:
    t = make_table(n_tup_ins=5_000_000)
    rare = make_index(t, "rare", ("kind",), idx_scan=3)
    busy = make_index(t, "busy", ("user_id",), idx_scan=900_000)
    never = make_index(t, "never", ("x",), idx_scan=0)
    assert write_only(tables=[t], indexes=[rare, busy, never]) == ["rare"]


def test_write_only_waits_for_a_long_enough_window() -> None:
    t = make_table(n_tup_ins=5_000_000)
    assert write_only(tables=[t], indexes=[make_index(t, "rare", ("kind",), idx_scan=3)],
                      uptime_days=1) == []


def test_constraint_indexes_are_never_write_only() -> None:
    t = make_table(n_tup_ins=5_000_000)
    assert write_only(tables=[t], indexes=[make_pkey(t, idx_scan=2)]) == []
