"""The rules on real servers: seed a real problem, collect, analyze, run the fix.

Each test seeds its own database (the `pg` fixture, once per server version), goes through
the same path as `pgsage analyze` (`take_snapshot` + `analyze`) and, where a finding comes
with SQL, runs that SQL as a user would: one statement at a time on an autocommit
connection, because CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from factories import make_extension, make_model, make_setting

from pgsage.analyzer.engine.config import Config, RulesConfig
from pgsage.analyzer.engine.pipeline import analyze, estimate_indexes, take_snapshot
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.rules import REGISTRY

if TYPE_CHECKING:
    from conftest import PgDatabase

SCHEMA_RULES = ("index", "maintenance", "CF001")
"""Rules about the database's own objects: server-wide settings of a throwaway server
(fsync off, tiny shared_buffers) are not what these tests are about."""


def findings(pg: PgDatabase, select: tuple[str, ...] = SCHEMA_RULES) -> list[Recommendation]:
    config = Config(rules=RulesConfig(select=select))
    report = analyze(take_snapshot(pg.dsn, config), config)
    assert not report.notes, report.notes  # no rule failed
    return report.recommendations


def of(found: list[Recommendation], code: str) -> list[Recommendation]:
    return [f for f in found if f.rule == code]


def one(found: list[Recommendation], code: str) -> Recommendation:
    mine = of(found, code)
    assert len(mine) == 1, [f.title for f in found]
    return mine[0]


def run_each(pg: PgDatabase, sql: str | None) -> None:
    """Run an action's statements one by one (comments skipped), as `psql -f` would."""
    assert sql
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for line in sql.splitlines():
            if line.strip() and not line.lstrip().startswith("--"):
                conn.execute(line.encode())


def scalar(pg: PgDatabase, sql: str) -> Any:
    return pg.fetch(sql)[0][0]


# --- seeded problems -----------------------------------------------------------------------

SHOP = """
CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    note text
);
INSERT INTO customers SELECT i, 'c' || i || '@example.com' FROM generate_series(1, 100) i;
INSERT INTO orders (customer_id, note) SELECT 1 + i % 100, 'n' || i
  FROM generate_series(1, 5000) i;
ANALYZE customers, orders;
"""


def test_unindexed_foreign_key_is_found(pg: PgDatabase) -> None:
    pg.execute(SHOP)
    found = one(findings(pg), "IX006")
    assert (found.object.schema, found.object.table, found.object.columns) == (
        "public", "orders", ("customer_id",))


def test_unindexed_foreign_key_fix_runs_and_silences_the_rule(pg: PgDatabase) -> None:
    pg.execute(SHOP)
    found = one(findings(pg), "IX006")
    assert found.action is not None
    run_each(pg, found.action.sql)
    assert scalar(pg, "SELECT indisvalid FROM pg_index "
                      "WHERE indexrelid = 'orders_customer_id_idx'::regclass") is True
    assert of(findings(pg), "IX006") == []


def test_unindexed_foreign_key_undo_runs(pg: PgDatabase) -> None:
    pg.execute(SHOP)
    found = one(findings(pg), "IX006")
    assert found.action is not None
    run_each(pg, found.action.sql)
    run_each(pg, found.action.undo_sql)
    assert scalar(pg, "SELECT to_regclass('orders_customer_id_idx')") is None


def test_duplicate_index_is_found(pg: PgDatabase) -> None:
    pg.execute(SHOP + "CREATE INDEX orders_cust_a ON orders (customer_id);"
                      "CREATE INDEX orders_cust_b ON orders (customer_id);")
    found = one(findings(pg), "IX002")
    assert (found.object.table, found.object.index) == ("orders", "orders_cust_b")


DUPLICATED_EMAILS = """
CREATE TABLE users (id int PRIMARY KEY, email text);
INSERT INTO users SELECT i, 'u' || (i % 900) || '@example.com' FROM generate_series(1, 1000) i;
"""


def failed_unique_build(pg: PgDatabase, name: str = "users_email_key") -> None:
    pg.execute(DUPLICATED_EMAILS)
    with psycopg.connect(pg.dsn, autocommit=True) as conn, pytest.raises(
            psycopg.errors.UniqueViolation):
        conn.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON users (email)".encode())


def test_invalid_index_from_failed_concurrent_build_is_found(pg: PgDatabase) -> None:
    failed_unique_build(pg)
    found = one(findings(pg), "IX005")
    assert (found.severity, found.object.table, found.object.index) == (
        Severity.HIGH, "users", "users_email_key")


def test_invalid_unique_index_detail_lists_duplicates_with_runnable_sql(pg: PgDatabase) -> None:
    failed_unique_build(pg)
    found = one(findings(pg), "IX005")
    query = found.detail.split("list them with ", 1)[1].split(";", 1)[0]
    assert len(pg.fetch(query)) == 100  # emails u1..u100 appear twice


def test_invalid_index_fix_runs_once_duplicates_are_gone(pg: PgDatabase) -> None:
    failed_unique_build(pg)
    found = one(findings(pg), "IX005")
    assert found.action is not None
    pg.execute("DELETE FROM users WHERE id > 900")
    run_each(pg, found.action.sql)
    assert scalar(pg, "SELECT indisvalid AND indisunique FROM pg_index "
                      "WHERE indexrelid = 'users_email_key'::regclass") is True
    assert of(findings(pg), "IX005") == []


SERIAL_NEAR_END = """
CREATE TABLE events (id serial PRIMARY KEY, kind text);
CREATE TABLE event_tags (event_id int REFERENCES events (id), tag text);
CREATE INDEX ON event_tags (event_id);
SELECT setval('events_id_seq', 2000000000);
"""


def test_int4_sequence_near_its_end_is_found(pg: PgDatabase) -> None:
    pg.execute(SERIAL_NEAR_END)
    found = one(findings(pg), "MT001")
    assert (found.severity, found.object.table, found.object.columns) == (
        Severity.CRITICAL, "events", ("id",))
    assert found.evidence["sequence"] == "public.events_id_seq"


def test_int4_sequence_fix_runs_and_silences_the_rule(pg: PgDatabase) -> None:
    pg.execute(SERIAL_NEAR_END)
    found = one(findings(pg), "MT001")
    assert found.action is not None
    run_each(pg, found.action.sql)
    types = pg.fetch("SELECT format_type(atttypid, NULL) FROM pg_attribute "
                     "WHERE (attrelid, attname) IN (('events'::regclass, 'id'), "
                     "('event_tags'::regclass, 'event_id'))")
    assert [t[0] for t in types] == ["bigint", "bigint"]
    pg.execute("INSERT INTO events (id, kind) VALUES (3000000000, 'x')")
    assert of(findings(pg), "MT001") == []


def test_identity_column_fix_runs(pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY);"
               "SELECT setval(pg_get_serial_sequence('t', 'id'), 1900000000);")
    found = one(findings(pg), "MT001")
    assert found.action is not None
    run_each(pg, found.action.sql)
    assert scalar(pg, "SELECT max_value FROM pg_sequences WHERE sequencename = 't_id_seq'") \
        == 2**63 - 1


def test_sequence_undo_runs(pg: PgDatabase) -> None:
    pg.execute(SERIAL_NEAR_END)
    found = one(findings(pg), "MT001")
    assert found.action is not None
    run_each(pg, found.action.sql)
    run_each(pg, found.action.undo_sql)
    assert scalar(pg, "SELECT data_type::regtype::text FROM pg_sequences "
                      "WHERE sequencename = 'events_id_seq'") == "integer"


def test_unused_index_drop_and_undo_run(pg: PgDatabase) -> None:
    """The window of a fresh server is seconds long, so the rule runs with no minimum."""
    pg.execute(SHOP + "CREATE INDEX orders_note_idx ON orders (note);")
    model = estimate_indexes(Model(take_snapshot(pg.dsn, Config())))
    rule = REGISTRY["IX004"]
    found = [f for f in rule.check(model, rule.Options(min_window_days=0.0, min_bytes=0))
             if f.object.index == "orders_note_idx"]
    assert len(found) == 1 and found[0].action is not None
    run_each(pg, found[0].action.sql)
    assert scalar(pg, "SELECT to_regclass('orders_note_idx')") is None
    run_each(pg, found[0].action.undo_sql)
    assert scalar(pg, "SELECT indisvalid FROM pg_index "
                      "WHERE indexrelid = 'orders_note_idx'::regclass") is True


def test_unused_index_is_quiet_on_a_fresh_server(pg: PgDatabase) -> None:
    pg.execute(SHOP + "CREATE INDEX orders_note_idx ON orders (note);")
    assert of(findings(pg), "IX004") == []


def test_missing_extension_is_found_and_its_fix_runs(pg: PgDatabase) -> None:
    pg.execute("DROP EXTENSION pg_stat_statements")
    found = one(findings(pg), "CF001")
    assert found.action is not None
    assert found.action.sql == "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
    run_each(pg, found.action.sql)
    assert of(findings(pg), "CF001") == []


def test_alter_system_line_runs(pg: PgDatabase) -> None:
    """The not-preloaded action, built from this server's own setting, is accepted."""
    if pg.server.throwaway is None:
        pytest.skip("writes postgresql.auto.conf: only on a throwaway server")
    current = scalar(pg, "SHOW shared_preload_libraries")
    model = make_model(settings=[make_setting("shared_preload_libraries", "auto_explain")],
                       extensions=[make_extension(installed=None)],
                       failed={"statements": "not in shared_preload_libraries"})
    rule = REGISTRY["CF001"]
    found = list(rule.check(model, rule.Options()))
    assert found and found[0].action is not None
    try:
        run_each(pg, found[0].action.sql)
        written = pg.fetch("SELECT setting FROM pg_file_settings "
                           "WHERE name = 'shared_preload_libraries' "
                           "AND sourcefile LIKE '%postgresql.auto.conf'")
        assert written == [("auto_explain, pg_stat_statements",)]
    finally:
        pg.execute("ALTER SYSTEM RESET shared_preload_libraries")
    assert scalar(pg, "SHOW shared_preload_libraries") == current


PARTITIONED = """
CREATE TABLE customers (id int PRIMARY KEY);
CREATE TABLE events (id int8, created date NOT NULL, customer_id int REFERENCES customers (id))
    PARTITION BY RANGE (created);
CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE INDEX events_2026_02_cust ON events_2026_02 (customer_id);
INSERT INTO customers SELECT generate_series(1, 10);
INSERT INTO events SELECT i, date '2026-01-01' + (i % 59), 1 + i % 10
  FROM generate_series(1, 3000) i;
ANALYZE events;
"""


def test_partitioned_foreign_key_is_found_once(pg: PgDatabase) -> None:
    pg.execute(PARTITIONED)
    found = one(findings(pg), "IX006")
    assert (found.object.table, found.object.columns) == ("events", ("customer_id",))


def test_partitioned_foreign_key_fix_builds_and_attaches(pg: PgDatabase) -> None:
    pg.execute(PARTITIONED)
    found = one(findings(pg), "IX006")
    assert found.action is not None
    run_each(pg, found.action.sql)
    assert scalar(pg, "SELECT indisvalid FROM pg_index "
                      "WHERE indexrelid = 'events_customer_id_idx'::regclass") is True
    attached = pg.fetch("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = 'events_customer_id_idx'::regclass ORDER BY 1")
    assert attached == [("events_2026_01_customer_id_idx",), ("events_2026_02_cust",)]
    assert of(findings(pg), "IX006") == []


# --- names that need quoting ---------------------------------------------------------------

AWKWARD = """
CREATE SCHEMA "My ""Shop""; --";
CREATE TABLE "My ""Shop""; --"."Customer" ("ID" int PRIMARY KEY);
CREATE TABLE "My ""Shop""; --"."order" (
    "select" serial PRIMARY KEY,
    "Customer ID" int REFERENCES "My ""Shop""; --"."Customer" ("ID")
);
INSERT INTO "My ""Shop""; --"."Customer" SELECT generate_series(1, 10);
INSERT INTO "My ""Shop""; --"."order" ("Customer ID") SELECT 1 + i % 10
  FROM generate_series(1, 2000) i;
ANALYZE "My ""Shop""; --"."order";
SELECT setval('"My ""Shop""; --"."order_select_seq"', 2100000000);
"""
SCHEMA = 'My "Shop"; --'


def test_awkward_names_foreign_key_fix_runs(pg: PgDatabase) -> None:
    pg.execute(AWKWARD)
    found = one(findings(pg), "IX006")
    assert (found.object.schema, found.object.table, found.object.columns) == (
        SCHEMA, "order", ("Customer ID",))
    assert found.action is not None
    run_each(pg, found.action.sql)
    run_each(pg, found.action.undo_sql)
    run_each(pg, found.action.sql)
    assert of(findings(pg), "IX006") == []


def test_awkward_names_sequence_fix_runs(pg: PgDatabase) -> None:
    pg.execute(AWKWARD)
    found = one(findings(pg), "MT001")
    assert (found.object.schema, found.object.table, found.object.columns) == (
        SCHEMA, "order", ("select",))
    assert found.action is not None
    run_each(pg, found.action.sql)
    assert of(findings(pg), "MT001") == []


def test_awkward_names_invalid_index_fix_runs(pg: PgDatabase) -> None:
    pg.execute(AWKWARD)
    with psycopg.connect(pg.dsn, autocommit=True) as conn, pytest.raises(psycopg.Error):
        conn.execute('CREATE UNIQUE INDEX CONCURRENTLY "Ix; ""1""" '
                     'ON "My ""Shop""; --"."order" ("Customer ID")')
    found = one(findings(pg), "IX005")
    assert found.object.index == 'Ix; "1"'
    assert found.action is not None
    run_each(pg, found.action.sql.splitlines()[0] if found.action.sql else None)
    assert of(findings(pg), "IX005") == []


# --- a clean schema ------------------------------------------------------------------------

CLEAN = """
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text UNIQUE);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_id_created_at_idx ON orders (customer_id, created_at);
INSERT INTO customers (email) SELECT 'c' || i || '@example.com' FROM generate_series(1, 500) i;
INSERT INTO orders (customer_id) SELECT 1 + i % 500 FROM generate_series(1, 5000) i;
ANALYZE customers, orders;
"""


def test_clean_schema_has_no_finding_above_low(pg: PgDatabase) -> None:
    pg.execute(CLEAN)
    found = findings(pg)
    assert [f.title for f in found if f.severity.rank > Severity.LOW.rank] == []
