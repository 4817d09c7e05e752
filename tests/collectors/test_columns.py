"""The `columns` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import EVENTS, by, seed, snapshot

from pgsage.collectors.columns import Column

if TYPE_CHECKING:
    from conftest import PgDatabase


TRICKY = ["a,b", 'say "hi"', "{brace}", "NULL", " spaced ", "back\\slash"]


ITEMS = """
CREATE TABLE items (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku varchar(20) NOT NULL,
    price numeric(10,2) DEFAULT 0,
    price_cents int8 GENERATED ALWAYS AS ((price * 100)::int8) STORED,
    tag text,
    dropped int,
    note text
);
ALTER TABLE items DROP COLUMN dropped;
INSERT INTO items (sku, price, tag, note)
SELECT 'sku-' || i, CASE WHEN i % 2 = 0 THEN i END, 'tag' || (i % 30),
       (ARRAY[{tricky}])[1 + i % 6]
  FROM generate_series(1, 300) i;
ANALYZE items;
""".replace("{tricky}", ", ".join("'" + t.replace("'", "''") + "'" for t in TRICKY))


def test_columns_describe_types_defaults_identity_and_generated(pg: PgDatabase) -> None:
    seed(pg, ITEMS)
    columns = [c for c in snapshot(pg.dsn).rows("columns", Column) if c.table == "items"]
    assert [(c.name, c.attnum, c.type) for c in columns] == [
        ("id", 1, "integer"), ("sku", 2, "character varying(20)"),
        ("price", 3, "numeric(10,2)"), ("price_cents", 4, "bigint"), ("tag", 5, "text"),
        ("note", 7, "text")]
    ident = by(columns, name="id")
    assert (ident.identity, ident.not_null, ident.has_default) == ("a", True, False)
    assert by(columns, name="price_cents").generated == "s"
    assert by(columns, name="price").has_default and not by(columns, name="price").not_null


def test_columns_carry_planner_statistics(pg: PgDatabase) -> None:
    seed(pg, ITEMS)
    columns = snapshot(pg.dsn).rows("columns", Column)
    assert by(columns, table="items", name="price").null_frac == 0.5
    sku = by(columns, table="items", name="sku")
    assert (sku.n_distinct, sku.inherited, sku.most_common_vals) == (-1.0, False, None)
    assert by(columns, table="items", name="id").correlation == 1.0


def test_columns_keep_most_common_values_only_where_they_list_every_value(
        pg: PgDatabase) -> None:
    seed(pg, ITEMS)
    columns = snapshot(pg.dsn).rows("columns", Column)
    tag = by(columns, table="items", name="tag")
    assert tag.n_distinct == 30.0  # more than 20 values: no rule reads them, none read
    assert (tag.most_common_vals, tag.most_common_freqs) == (None, None)
    note = by(columns, table="items", name="note")
    assert note.most_common_vals is not None and note.most_common_freqs is not None
    assert len(note.most_common_vals) == len(note.most_common_freqs) == len(TRICKY)
    assert all(abs(f - 1 / 6) < 1e-6 for f in note.most_common_freqs)


def test_columns_return_most_common_values_exactly_as_stored(pg: PgDatabase) -> None:
    seed(pg, ITEMS)
    note = by(snapshot(pg.dsn).rows("columns", Column), table="items", name="note")
    assert note.most_common_vals is not None
    assert sorted(note.most_common_vals) == sorted(TRICKY)


def test_columns_of_a_partitioned_table_have_inherited_statistics(pg: PgDatabase) -> None:
    seed(pg, EVENTS)
    columns = snapshot(pg.dsn).rows("columns", Column)
    parent = by(columns, table="events", name="kind")
    assert parent.inherited is True and parent.n_distinct == 2.0
    assert set(parent.most_common_vals or ()) == {"click", "view"}
    assert by(columns, table="events_2026_01", name="kind").inherited is False


def test_columns_never_analyzed_have_no_statistics(pg: PgDatabase) -> None:
    seed(pg, "CREATE TABLE fresh (id int, label text)")
    label = by(snapshot(pg.dsn).rows("columns", Column), table="fresh", name="label")
    assert (label.inherited, label.null_frac, label.n_distinct) == (None, None, None)
