"""`migration plan`: the plan from a live database to a target schema, applied to a copy of
the live database, reaches the target's catalog; renames need to be told."""

from __future__ import annotations

import psycopg
import pytest

from pgsage.analyzer.app.migration_plan import plan_report
from pgsage.analyzer.live.catalog import read_catalog
from pgsage.analyzer.live.connection import Session
from pgsage.analyzer.migration.analysis import split_statements
from pgsage.analyzer.migration.catalog import Catalog, Column, Table
from pgsage.analyzer.migration.plan import CONTRACT, EXPAND, build_plan

LIVE = """
CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100), name text, legacy int,
                    qty int, fullname text);
INSERT INTO users SELECT g, 'u' || g || '@x', 'n' || g, g, g, 'f' || g
  FROM generate_series(1, 2000) g;
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total numeric(10,2));
INSERT INTO orders SELECT g, 1 + g % 2000, g FROM generate_series(1, 3000) g;
CREATE TABLE old_audit (id int);
CREATE INDEX users_name_idx ON users (name);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1';
"""

TARGET = """
CREATE TABLE people (id bigint PRIMARY KEY, email varchar(200) NOT NULL, name text,
                     qty bigint, display_name text, created timestamptz DEFAULT now(),
                     score int DEFAULT 0 NOT NULL,
                     CONSTRAINT people_qty_pos CHECK (qty > 0),
                     CONSTRAINT people_email_key UNIQUE (email));
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES people (id),
                     total numeric(12,2), note text);
CREATE SEQUENCE invoice_no START 1000;
CREATE TABLE invoices (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders,
                       no bigint DEFAULT nextval('invoice_no'));
CREATE INDEX people_qty_idx ON people (qty);
CREATE INDEX orders_user_idx ON orders (user_id);
CREATE VIEW big_orders AS SELECT id, total, note FROM orders WHERE total > 100;
CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1 + 0';
CREATE FUNCTION two() RETURNS int LANGUAGE sql AS 'SELECT 2';
"""

RENAMES = {"users": "people", "users.fullname": "display_name"}


def _catalog(dsn: str) -> Catalog:
    with Session.open(dsn) as session:
        return read_catalog(session)


def _apply(dsn: str, script: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in split_statements(script, "plan.sql")[1]:
            conn.execute(statement.encode())


def test_the_plan_applied_to_a_copy_reaches_the_target(pg) -> None:
    """Compared with the target loaded on the same server (catalog texts vary by version)."""
    pg.execute(LIVE)
    report, plan = plan_report(TARGET, pg.dsn, None, RENAMES, 0.0)
    copy = f"{pg.name}_copy"
    pg.server.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{pg.name}"')
    try:
        _apply(pg.server.dsn(copy), plan.script())
        reached = _catalog(pg.server.dsn(copy))
    finally:
        pg.server.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
    target_db = f"{pg.name}_target"
    pg.server.execute(f'CREATE DATABASE "{target_db}"')
    try:
        pg.server.execute(TARGET, target_db)
        target = _catalog(pg.server.dsn(target_db))
    finally:
        pg.server.execute(f'DROP DATABASE IF EXISTS "{target_db}" WITH (FORCE)')
    assert reached.differences(target) == []
    assert {"MG012", "MG021"} <= {r.rule for r in report.recommendations}
    assert "not_covered" in report.sections["migration_plan"]


def test_the_data_survives_the_rename_and_the_retype(pg) -> None:
    pg.execute(LIVE)
    _, plan = plan_report(TARGET, pg.dsn, None, RENAMES, 0.0)
    _apply(pg.dsn, plan.script())
    assert pg.fetch("SELECT count(*), sum(qty)::bigint, min(display_name) FROM people") == [
        (2000, 2001000, "f1")]
    assert pg.fetch("SELECT count(*) FROM orders WHERE total IS NULL") == [(0,)]


def test_steps_that_lock_strongly_are_catalog_only_and_retried(pg) -> None:
    """ACCESS EXCLUSIVE on a table in use only for catalog changes under a retried
    lock_timeout (the shadow column's swap holds its retry loop inside the step)."""
    pg.execute(LIVE)
    report, _ = plan_report(TARGET, pg.dsn, None, RENAMES, 0.0)
    steps = report.sections["migration_plan"]["steps"]
    for s in steps:
        strong = [lk for lk in s["locks"] if lk["mode"] == "ACCESS EXCLUSIVE"
                  and not lk["relation"].startswith("(")]
        slow = {v for v in s["effects"].values()} & {"rewrite", "scan", "index build"}
        about_a_new_table = "CREATE TABLE" in s["sql"] or "of the new table" in s["why"]
        if strong and not about_a_new_table and "DROP TRIGGER" not in s["sql"]:
            assert "lock_timeout" in s["sql"], s
            assert not slow or "ADD COLUMN" in s["sql"], s


def test_without_renames_a_rename_is_a_drop_and_an_add() -> None:
    live = Catalog(tables={"public.t": Table("public.t", {"a": Column("a", "integer", False,
                                                                       None)})})
    target = Catalog(tables={"public.t": Table("public.t", {"b": Column("b", "integer", False,
                                                                         None)})})
    plan = build_plan(live, target, {}, 180000)
    assert [(s.phase, s.statement) for s in plan.ordered()] == [
        (EXPAND, "ALTER TABLE public.t ADD COLUMN b integer"),
        (CONTRACT, "ALTER TABLE public.t DROP COLUMN a")]
    told = build_plan(live, target, {"t.a": "b"}, 180000)
    assert [s.statement for s in told.ordered()] == [
        "ALTER TABLE public.t RENAME COLUMN a TO b"]


@pytest.mark.parametrize("bad", ["x", "=y", "a="])
def test_a_rename_needs_old_and_new(bad: str) -> None:
    from pgsage.analyzer.migration.plan import parse_renames

    with pytest.raises(ValueError, match="old=new"):
        parse_renames([bad])
