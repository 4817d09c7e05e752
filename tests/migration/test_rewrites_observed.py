"""Every safe rewrite runs for real, reaches what the original statement meant, and takes
no stronger lock than it claims (pg_locks observed while a blocker makes it wait: the blocker
conflicts with the claimed mode, so even a rewrite that finishes in milliseconds is seen)."""

from __future__ import annotations

import pytest
from migration_locks import blocker_for, observe, within

from pgsage.analyzer.migration.analysis import analyze_sql
from pgsage.analyzer.migration.locks import ACCESS_EXCLUSIVE

SETUP = """
CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100), name text, qty int,
                    status text);
INSERT INTO users SELECT g, 'u' || g || '@x', 'n' || g, g, 'old'
  FROM generate_series(1, 3000) g;
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total numeric(10,2));
INSERT INTO orders SELECT g, 1 + g % 3000, g FROM generate_series(1, 5000) g;
CREATE INDEX users_name_idx ON users (name);
CREATE TABLE meas (k int, v int) PARTITION BY RANGE (k);
CREATE TABLE meas_1 PARTITION OF meas FOR VALUES FROM (0) TO (100);
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
"""

# (code, statement, tables to block, a query that is true once the rewrite did its job)
CASES = [
    ("MG001", "CREATE INDEX users_qty_idx ON users (qty)", ["users"],
     "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_qty_idx'::regclass"),
    ("MG003", "DROP INDEX users_name_idx", ["users"],
     "SELECT to_regclass('users_name_idx') IS NULL"),
    ("MG004", "ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT clock_timestamp() NOT NULL",
     ["users"], "SELECT count(*) = 0 FROM users WHERE seen IS NULL"),
    ("MG004", "ALTER TABLE users ADD COLUMN n bigserial", ["users"],
     "SELECT count(DISTINCT n) = 3000 FROM users"),
    ("MG006", "ALTER TABLE users ALTER COLUMN qty TYPE bigint", ["users"],
     "SELECT format_type(atttypid, atttypmod) = 'bigint' FROM pg_attribute "
     "WHERE attrelid = 'users'::regclass AND attname = 'qty'"),
    ("MG007", "ALTER TABLE users ALTER COLUMN name SET NOT NULL", ["users"],
     "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass "
     "AND attname = 'name'"),
    ("MG008", "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
     "REFERENCES users (id)", ["orders", "users"],
     "SELECT convalidated FROM pg_constraint WHERE conname = 'orders_user_fk'"),
    ("MG009", "ALTER TABLE users ADD CONSTRAINT qty_pos CHECK (qty > 0)", ["users"],
     "SELECT convalidated FROM pg_constraint WHERE conname = 'qty_pos'"),
    ("MG010", "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)", ["users"],
     "SELECT count(*) = 1 FROM pg_constraint WHERE conname = 'users_email_key'"),
    ("MG011", "ALTER TABLE users RENAME TO people", ["users"],
     "SELECT to_regclass('people') IS NOT NULL AND to_regclass('users') IS NOT NULL"),
    ("MG012", "ALTER TABLE users DROP COLUMN status", ["users"],
     "SELECT NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'users'::regclass "
     "AND attname = 'status' AND NOT attisdropped)"),
    ("MG013", "VACUUM FULL users", ["users"], "SELECT true"),
    ("MG014", "UPDATE users SET status = 'new'", ["users"],
     "SELECT count(*) = 0 FROM users WHERE status IS DISTINCT FROM 'new'"),
    ("MG014", "DELETE FROM orders", ["orders"], "SELECT count(*) = 0 FROM orders"),
    ("MG015", "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x'", ["users"],
     "SELECT pg_get_expr(adbin, adrelid) LIKE '''x''%' FROM pg_attrdef "
     "WHERE adrelid = 'users'::regclass"),
    ("MG016", "REINDEX TABLE users", ["users"], "SELECT true"),
    ("MG017", "CREATE TRIGGER t BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION noop()",
     ["users"], "SELECT count(*) = 1 FROM pg_trigger WHERE tgname = 't'"),
    ("MG020", "TRUNCATE orders", ["orders"], "SELECT count(*) = 0 FROM orders"),
    ("MG021", "DROP TABLE orders", ["orders"], "SELECT to_regclass('orders') IS NULL"),
]


@pytest.mark.parametrize(("code", "statement", "tables", "done"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_safe_rewrite_runs_and_takes_only_the_locks_it_claims(pg, code: str, statement: str,
                                                              tables: list[str],
                                                              done: str) -> None:
    pg.execute(SETUP)
    report = analyze_sql(statement, pg.version_num)
    finding = next(f for _, f in report.all_findings() if f.code == code)
    claimed = {t.rsplit(".", 1)[-1]: m for t, m in finding.rewrite_locks.items()}
    observed = observe(pg.dsn, finding.safe_sql, tables,
                       held={t: blocker_for(claimed[t]) for t in tables if t in claimed})
    assert within(observed, finding.rewrite_locks) == []
    assert any(t in observed for t in tables), observed
    assert pg.fetch(done)[0][0] is True


def test_the_original_statement_is_seen_taking_its_stronger_lock(pg) -> None:
    """The observer is not blind: the unsafe form is caught asking for ACCESS EXCLUSIVE."""
    pg.execute(SETUP)
    observed = observe(pg.dsn, "ALTER TABLE users ALTER COLUMN qty TYPE bigint", ["users"])
    assert observed["users"] == ACCESS_EXCLUSIVE


@pytest.mark.pg(">= 14")
def test_detach_concurrently_rewrite_detaches(pg) -> None:
    """DETACH ... CONCURRENTLY finishes without waiting when nothing uses the partition, so
    its locks are not observable here; the claim itself is checked in test_analysis."""
    pg.execute(SETUP)
    finding = next(f for _, f in analyze_sql("ALTER TABLE meas DETACH PARTITION meas_1",
                                             pg.version_num).all_findings()
                   if f.code == "MG022")
    observe(pg.dsn, finding.safe_sql, ["meas"])
    assert pg.fetch("SELECT NOT EXISTS (SELECT FROM pg_inherits "
                    "WHERE inhrelid = 'meas_1'::regclass)")[0][0] is True
