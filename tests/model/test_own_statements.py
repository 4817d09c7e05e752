"""pgsage's own statements are not the workload: no rule advises on them or lists them.

pgsage's collection runs SELECTs over the catalog and over functions (`current_schemas`,
`pg_stat_statements_info`, `has_table_privilege`); pg_stat_statements records them under
pgsage's role like any other statement, often the role the application uses too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
from factories import make_model, make_statement, make_table

from pgsage.analyzer.engine.config import Config, RulesConfig
from pgsage.analyzer.engine.pipeline import analyze, take_snapshot
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.host import HostSpec

if TYPE_CHECKING:
    from conftest import PgDatabase

OWN = ("SELECT current_schemas($1)::text[] AS path",
       "SELECT dealloc, extract($1 FROM stats_reset)::float8 AS stats_reset "
       "FROM public.pg_stat_statements_info")


def test_selects_under_pgsages_role_that_read_no_table_are_not_the_workload() -> None:
    orders = make_table("orders")
    model = make_model(tables=[orders], statements=[
        make_statement(1, OWN[0], 5, username="pgsage"),
        make_statement(2, OWN[1], 5, username="pgsage"),
        make_statement(3, "SELECT * FROM orders WHERE id = $1", 5, username="pgsage"),
        make_statement(4, OWN[0], 5, username="app")])
    assert model.own_queryids == {1, 2}
    assert set(model.totals) == {3, 4}
    assert set(model.workload.statements) == {3, 4}
    assert set(model.statements["queryid"]) == {3, 4}


def test_read_advice_lists_the_applications_reads_not_pgsages_collection(
        pg: PgDatabase) -> None:
    """pgsage and the application both as the test's superuser: the heaviest reads SC001
    lists are the application's, none of pgsage's own collection."""
    pg.execute("CREATE TABLE items (id int PRIMARY KEY, name text);"
               "INSERT INTO items SELECT i, 'n' || i FROM generate_series(1, 5000) i;")
    cfg = Config(rules=RulesConfig(select=("SC001", "QY001"),
                                   options={"SC001": {"min_load": 0.0, "high_load": 0.0}}),
                 host=HostSpec(cpus=1))
    baseline = take_snapshot(pg.dsn, cfg)
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for i in range(300):
            conn.execute("SELECT name FROM items WHERE id = %s", (i,)).fetchall()
            conn.execute("SELECT count(*) FROM items WHERE name LIKE %s", (f"%{i}",)).fetchall()
    current = take_snapshot(pg.dsn, cfg)
    model = Model(current, baseline)
    texts = {q: model.statement_text(q) or "" for q in model.totals}
    assert texts and all("items" in text for text in texts.values()), texts
    listed = {str(q) for f in analyze(current, cfg, baseline).recommendations
              for q in f.impact.get("queryids", [])}
    assert listed and listed <= {str(q) for q in texts}
