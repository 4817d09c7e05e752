"""The `sequences` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from collector_support import by, seed, snapshot

from pgsage.collectors.sequences import Sequence

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_sequences_a_role_may_not_read_have_no_last_value(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    seed(pg, "CREATE SEQUENCE ticket_no AS integer; SELECT setval('ticket_no', 42);")
    role = make_role("pg_monitor")
    snap = snapshot(pg.server.dsn(pg.name, user=role))
    seq = by(snap.rows("sequences", Sequence), name="ticket_no")
    assert (seq.readable, seq.last_value) == (False, None)


def test_sequences_show_an_int4_sequence_close_to_its_maximum(pg: PgDatabase) -> None:
    seed(pg, "CREATE SEQUENCE ticket_no AS integer; SELECT setval('ticket_no', 2000000000);")
    seq = by(snapshot(pg.dsn).rows("sequences", Sequence), name="ticket_no")
    assert (seq.data_type, seq.last_value, seq.max_value) == ("integer", 2000000000, 2147483647)
    assert seq.readable and seq.owner_table is None


def test_sequences_name_an_int4_column_fed_by_a_bigint_sequence(pg: PgDatabase) -> None:
    seed(pg, """
        CREATE TABLE legacy (id int4 NOT NULL);
        CREATE SEQUENCE legacy_id_seq OWNED BY legacy.id;
        ALTER TABLE legacy ALTER id SET DEFAULT nextval('legacy_id_seq');
    """)
    seq = by(snapshot(pg.dsn).rows("sequences", Sequence), name="legacy_id_seq")
    assert (seq.data_type, seq.owner_table, seq.owner_column) == ("bigint", "legacy", "id")
    assert seq.owner_column_type == "integer" and seq.last_value is None
