"""Planning runs no user code: the exploits of issue #15 against a real server.

An application role `app` owns functions that, if the planner ran them, would say so (a
NOTICE), write a row stolen from pgsage's session, switch pgsage's read-only and timeout
settings off, or take an advisory lock. pgsage plans as a pg_monitor-only role and as a
superuser; afterwards nothing ran, nothing was written, no setting changed and no lock is
left, while the application's ordinary statements were still planned.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from conftest import PgDatabase

from pgsage.analyzer.engine import config
from pgsage.analyzer.engine.pipeline import analyze_live, indexes_live
from pgsage.analyzer.live.connection import Session
from pgsage.analyzer.live.explain import Planner, SessionCompromised
from pgsage.analyzer.live.trust import TrustOptions, collect_names
from pgsage.analyzer.model.index_plan import AdvisorOptions
from pgsage.analyzer.model.plan_tree import NotExplainable
from pgsage.analyzer.model.workload import Catalog, Statement, describe, parse

_unique = itertools.count()

APP_OBJECTS = """
CREATE SCHEMA app AUTHORIZATION {app};
GRANT USAGE ON SCHEMA app TO PUBLIC;
SET ROLE {app};
CREATE TABLE app.audit (who text, what text);
GRANT INSERT ON app.audit TO PUBLIC;
CREATE FUNCTION app.w(t text) RETURNS void VOLATILE SECURITY DEFINER LANGUAGE plpgsql
  AS $$BEGIN INSERT INTO app.audit VALUES (session_user, t); END$$;
CREATE FUNCTION app.esc() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$BEGIN
  RAISE NOTICE 'pgsage-ran esc';
  PERFORM set_config('default_transaction_read_only', 'off', false);
  PERFORM set_config('statement_timeout', '0', false); RETURN 3; END$$;
CREATE FUNCTION app.wr() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$BEGIN
  RAISE NOTICE 'pgsage-ran wr';
  BEGIN PERFORM app.w('STOLEN ' || current_setting('data_directory'));
  EXCEPTION WHEN OTHERS THEN NULL; END; RETURN 4; END$$;
CREATE FUNCTION app.lk() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$BEGIN
  RAISE NOTICE 'pgsage-ran lk'; PERFORM pg_advisory_lock(4242); RETURN 1; END$$;
CREATE FUNCTION app.eq(int, int) RETURNS bool IMMUTABLE LANGUAGE plpgsql AS $$BEGIN
  RAISE NOTICE 'pgsage-ran operator'; RETURN $1 = $2; END$$;
CREATE OPERATOR app.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = app.eq);
CREATE FUNCTION app.vf() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$BEGIN
  RAISE NOTICE 'pgsage-ran view'; RETURN 1; END$$;
CREATE FUNCTION app.pf() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$BEGIN
  RAISE NOTICE 'pgsage-ran policy'; RETURN 1; END$$;
CREATE TABLE app.t (id int PRIMARY KEY, v int);
INSERT INTO app.t SELECT i, i % 10 FROM generate_series(1, 1000) i;
CREATE VIEW app.v AS SELECT id FROM app.t WHERE v = app.vf();
CREATE TABLE app.r (id int, v int);
ALTER TABLE app.r ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON app.r USING (v = app.pf());
GRANT SELECT ON app.t, app.v, app.r TO PUBLIC;
RESET ROLE;
ANALYZE;
"""

EXPLOITS = {
    "esc": "SELECT id FROM app.t WHERE v = app.esc()",
    "wr": "SELECT id FROM app.t WHERE v = app.wr()",
    "lk": "SELECT id FROM app.t WHERE v = app.lk()",
    "operator": "SELECT id FROM app.t WHERE v OPERATOR(app.===) 1",
    "view": "SELECT * FROM app.v",
    "policy": "SELECT * FROM app.r WHERE id = 1",
}
ORDINARY = ["SELECT id, v FROM app.t WHERE id = $1",
            "SELECT count(*) FROM app.t WHERE v BETWEEN $1 AND $2",
            "SELECT lower('X'), now() FROM app.t t1 JOIN app.t t2 USING (id) LIMIT 1"]


@dataclass
class Target:
    pg: PgDatabase
    app: str
    mon: str

    def dsn(self, who: str) -> str:
        return self.pg.server.dsn(self.pg.name, user=self.mon) if who == "monitor" \
            else self.pg.dsn

    def audit(self) -> list[tuple[object, ...]]:
        return self.pg.fetch("SELECT who, what FROM app.audit")

    def advisory_locks(self) -> int:
        rows = self.pg.fetch("SELECT count(*)::int FROM pg_locks l JOIN pg_database d "
                             "ON d.oid = l.database AND d.datname = current_database() "
                             "WHERE l.locktype = 'advisory'")
        return int(str(rows[0][0]))


@pytest.fixture
def target(pg: PgDatabase) -> Iterator[Target]:
    app = f"app_{os.getpid()}_{next(_unique)}"
    mon = f"mon_{os.getpid()}_{next(_unique)}"
    pg.server.execute(f"CREATE ROLE {app} LOGIN; CREATE ROLE {mon} LOGIN; "
                      f"GRANT pg_monitor TO {mon}")
    pg.execute(APP_OBJECTS.format(app=app))
    try:
        yield Target(pg, app, mon)
    finally:
        pg.execute(f"DROP SCHEMA app CASCADE; DROP OWNED BY {app}; DROP OWNED BY {mon}")
        pg.server.execute(f"DROP ROLE {app}; DROP ROLE {mon}")


def run_as_app(target: Target, texts: list[str], times: int = 3) -> None:
    """The application's workload, so that pg_stat_statements ranks it."""
    target.pg.execute("SELECT pg_stat_statements_reset()")
    with psycopg.connect(target.pg.server.dsn(target.pg.name, user=target.app),
                         autocommit=True) as conn:
        for _ in range(times):
            for text in texts:
                conn.execute(text.replace("$1", "1").replace("$2", "2").encode())


@dataclass
class Watched:
    session: Session
    notices: list[str]


@pytest.fixture(params=["monitor", "superuser"])
def watched(request: pytest.FixtureRequest, target: Target) -> Iterator[Watched]:
    """pgsage's session as a pg_monitor-only role or a superuser, its NOTICEs recorded."""
    session = Session.open(target.dsn(request.param))
    notices: list[str] = []
    session.conn.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
    try:
        yield Watched(session, notices)
    finally:
        session.close()


def statement(text: str) -> Statement:
    return describe(1, text, Catalog({}, {}))


SETTINGS = ("SELECT current_setting('default_transaction_read_only') AS ro, "
            "current_setting('statement_timeout') AS st, current_setting('search_path') AS sp")


@pytest.mark.parametrize("name", sorted(EXPLOITS))
def test_an_exploit_is_not_planned_and_nothing_of_it_runs(
        target: Target, watched: Watched, name: str) -> None:
    before = watched.session.fetch(SETTINGS)
    planner = Planner(watched.session, target.pg.version_num)
    with pytest.raises(NotExplainable, match=r"^not planned: calls app\.\w+\(") as refused:
        planner.plan(statement(EXPLOITS[name]))
    assert "is not a superuser" in str(refused.value)
    assert watched.notices == []
    assert target.audit() == []
    assert watched.session.fetch(SETTINGS) == before
    assert target.advisory_locks() == 0


def test_ordinary_statements_are_still_planned(target: Target, watched: Watched) -> None:
    planner = Planner(watched.session, target.pg.version_num)
    plans = [planner.plan(statement(text)) for text in ORDINARY]
    assert all(p.total_cost > 0 for p in plans)
    assert watched.session.fetch("SELECT count(*)::int AS n FROM pg_prepared_statements "
                                 "WHERE name = 'pgsage_plan'") == [{"n": 0}]


def test_a_trusted_function_is_planned_and_its_changes_do_not_outlive_the_plan(
        target: Target, watched: Watched) -> None:
    before = watched.session.fetch(SETTINGS)
    planner = Planner(watched.session, target.pg.version_num,
                      TrustOptions(functions=("app.esc",)))
    planner.plan(statement(EXPLOITS["esc"]))
    assert "pgsage-ran esc" in watched.notices  # it ran: inside the read-only transaction
    assert watched.session.fetch(SETTINGS) == before


def test_a_trusted_schema_lets_its_functions_through(target: Target, watched: Watched) -> None:
    planner = Planner(watched.session, target.pg.version_num, TrustOptions(schemas=("app",)))
    planner.plan(statement(EXPLOITS["wr"]))
    assert target.audit() == []  # the write failed in the read-only transaction


def test_a_lock_left_by_trusted_code_is_released_and_planning_stops(
        target: Target, watched: Watched) -> None:
    planner = Planner(watched.session, target.pg.version_num,
                      TrustOptions(functions=("app.lk",)))
    with pytest.raises(SessionCompromised, match="advisory lock"):
        planner.plan(statement(EXPLOITS["lk"]))
    assert target.advisory_locks() == 0
    with pytest.raises(SessionCompromised):
        Planner(watched.session, target.pg.version_num)


def test_analyze_as_a_monitoring_role_reports_what_it_did_not_plan(target: Target) -> None:
    run_as_app(target, [*EXPLOITS.values(), *ORDINARY])
    before = target.audit()
    report = analyze_live(target.dsn("monitor"), config.load(env={}))
    assert target.audit() == before  # the app's own runs wrote; pgsage's did not
    assert target.advisory_locks() == 0
    notes = " ".join(report.notes)
    assert "not planned:" in notes and "calls app.esc()" in notes
    planned = report.collectors["plans"]
    assert planned.ok and (planned.rows or 0) >= 2


@pytest.mark.hypopg
def test_the_index_advisor_skips_untrusted_statements(target: Target) -> None:
    target.pg.execute("CREATE EXTENSION hypopg")
    run_as_app(target, [*EXPLOITS.values(), *ORDINARY])
    before = target.audit()
    report = indexes_live(target.dsn("monitor"), config.load(env={}), AdvisorOptions())
    skipped = report.sections["index_plan"]["skipped_statements"]
    assert any("calls app.esc()" in why for why in skipped.values())
    assert target.audit() == before
    assert target.advisory_locks() == 0


def test_names_come_from_every_place_the_planner_resolves() -> None:
    names = collect_names(parse(
        "WITH c AS (SELECT 1 AS x) SELECT s.f(a.b), x::app.dom FROM app.t a "
        "JOIN c USING (x) WHERE a.v BETWEEN 1 AND 2 AND a.w OPERATOR(app.===) 3 "
        "AND a.z IN (SELECT 1) ORDER BY a.v USING OPERATOR(app.<<<)"))
    assert ["s", "f"] in names["functions"]
    assert ["app", "dom"] in names["types"]
    assert ["app", "t"] in names["relations"] and ["c"] not in names["relations"]
    assert {"<", "<=", ">", ">=", "="} <= {op for _, op in names["operators"]}
    assert ["app", "==="] in names["operators"] and ["app", "<<<"] in names["operators"]
    assert names["ctes"] == ["c"]
