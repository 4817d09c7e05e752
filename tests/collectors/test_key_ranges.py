"""The `key_ranges` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import seed, snapshot

from pgsage.collectors.key_ranges import KeyRange

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_key_ranges_give_the_largest_analyzed_value_and_the_feeding_sequence(
        pg: PgDatabase) -> None:
    seed(pg, """
        CREATE TABLE accounts (id serial PRIMARY KEY, external_id int UNIQUE,
                               code smallint, label bigint);
        INSERT INTO accounts (external_id, code)
             SELECT 1900000000 + g, 1 FROM generate_series(1, 1000) g;
        CREATE TABLE payments (account_id int REFERENCES accounts, note text);
        CREATE TABLE fresh (id bigint PRIMARY KEY);
        ANALYZE;
    """)
    keys = {(k.table, k.column): k for k in
            snapshot(pg.dsn, only=["key_ranges"]).rows("key_ranges", KeyRange)}
    assert set(keys) == {("accounts", "id"), ("accounts", "external_id"),
                         ("payments", "account_id"), ("fresh", "id")}
    assert keys[("accounts", "id")].fed_by_sequence and keys[("accounts", "id")].max_value == 1000
    external = keys[("accounts", "external_id")]
    assert (external.constraint_type, external.type, external.fed_by_sequence) == (
        "u", "integer", False)
    assert external.max_value == 1_900_001_000
    assert keys[("payments", "account_id")].constraint_type == "f"
    assert keys[("fresh", "id")].max_value is None  # no rows, no statistics
