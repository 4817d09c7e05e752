"""The analyser, statement by statement: every MG rule fails one input and passes another;
the lock table, binary coercion, versions and transactions as PostgreSQL's docs state them
(the same claims are observed on real servers in test_locks_observed.py)."""

import pytest
from pglast import parse_sql

from pgsage.analyzer.migration import analysis as mr
from pgsage.analyzer.migration.analysis import Schema, analyze_sql
from pgsage.analyzer.migration.coercion import binary_coercible, typespec_from_text
from pgsage.analyzer.migration.locks import (
    ACCESS_EXCLUSIVE,
    LOCK_ORDER,
    ROW_SHARE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    conflicts,
)

S = Schema(columns={"users": {"email": "varchar(100)", "amount": "numeric(10,2)",
                              "ip": "cidr", "qty": "int", "ts": "timestamp", "name": "text"}},
           index_table={"users_name_idx": "users"})


def codes(sql: str, v: int = 170000, schema: Schema = S, tx: bool = False) -> list[str]:
    return analyze_sql(sql, v, schema=schema, assume_in_transaction=tx).codes()


def first(sql: str, v: int = 170000, schema: Schema = S, tx: bool = False) -> mr.StatementReport:
    return analyze_sql(sql, v, schema=schema, assume_in_transaction=tx).statements[-1]


LT = "SET lock_timeout = '2s';\n"


# (rule code, failing SQL, passing SQL)
CASES = [
    ("MG001", "CREATE INDEX i ON users (qty)", "CREATE INDEX CONCURRENTLY i ON users (qty)"),
    ("MG001", "CREATE INDEX i ON users (qty)",
     "CREATE TABLE t (a int); CREATE INDEX i ON t (a)"),
    ("MG003", "DROP INDEX users_name_idx", "DROP INDEX CONCURRENTLY users_name_idx"),
    ("MG004", "ALTER TABLE users ADD COLUMN c timestamptz DEFAULT clock_timestamp()",
     "ALTER TABLE users ADD COLUMN c timestamptz DEFAULT now()"),
    ("MG004", "ALTER TABLE users ADD COLUMN c uuid DEFAULT gen_random_uuid()",
     "ALTER TABLE users ADD COLUMN c uuid"),
    ("MG004", "ALTER TABLE users ADD COLUMN c bigint GENERATED ALWAYS AS IDENTITY",
     "ALTER TABLE users ADD COLUMN c bigint"),
    ("MG004", "ALTER TABLE users ADD COLUMN c bigserial", "ALTER TABLE users ADD COLUMN c bigint"),
    ("MG005", "ALTER TABLE users ADD COLUMN c int NOT NULL",
     "ALTER TABLE users ADD COLUMN c int NOT NULL DEFAULT 0"),
    ("MG006", "ALTER TABLE users ALTER COLUMN qty TYPE bigint",
     "ALTER TABLE users ALTER COLUMN email TYPE varchar(200)"),
    ("MG006", "ALTER TABLE users ALTER COLUMN email TYPE varchar(50)",
     "ALTER TABLE users ALTER COLUMN email TYPE text"),
    ("MG006", "ALTER TABLE users ALTER COLUMN amount TYPE numeric(12,3)",
     "ALTER TABLE users ALTER COLUMN amount TYPE numeric(12,2)"),
    ("MG006", "ALTER TABLE users ALTER COLUMN email TYPE text USING lower(email)",
     "ALTER TABLE users ALTER COLUMN ip TYPE inet"),
    ("MG007", "ALTER TABLE users ALTER COLUMN name SET NOT NULL",
     "ALTER TABLE users ADD CONSTRAINT c CHECK (name IS NOT NULL) NOT VALID;\n"
     "ALTER TABLE users VALIDATE CONSTRAINT c;\nALTER TABLE users ALTER COLUMN name SET NOT NULL"),
    ("MG008", "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id)",
     "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id) NOT VALID"),
    ("MG009", "ALTER TABLE users ADD CONSTRAINT c CHECK (qty > 0)",
     "ALTER TABLE users ADD CONSTRAINT c CHECK (qty > 0) NOT VALID"),
    ("MG010", "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email)",
     "ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email_uq"),
    ("MG010", "ALTER TABLE users ADD PRIMARY KEY (id)",
     "ALTER TABLE users ADD CONSTRAINT p PRIMARY KEY USING INDEX users_id_uq"),
    ("MG011", "ALTER TABLE users RENAME COLUMN name TO full_name",
     "ALTER INDEX users_name_idx RENAME TO users_name_i"),
    ("MG011", "ALTER TABLE users RENAME TO people", "CREATE TABLE people (id int)"),
    ("MG012", "ALTER TABLE users DROP COLUMN qty", "ALTER TABLE users ADD COLUMN qty2 int"),
    ("MG013", "VACUUM FULL users", "VACUUM users"),
    ("MG013", "CLUSTER users USING users_pkey", "ALTER TABLE users CLUSTER ON users_pkey"),
    ("MG014", "UPDATE users SET qty = 0", "UPDATE users SET qty = 0 WHERE id BETWEEN 1 AND 1000"),
    ("MG014", "DELETE FROM users", "DELETE FROM users WHERE id < 1000"),
    ("MG015", "ALTER TABLE users ADD COLUMN c int", LT + "ALTER TABLE users ADD COLUMN c int"),
    ("MG016", "REINDEX TABLE users", "REINDEX TABLE CONCURRENTLY users"),
    ("MG017", "CREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION f()",
     "CREATE TABLE x (a int);\n"
     "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW EXECUTE FUNCTION f()"),
    ("MG020", "TRUNCATE users", "CREATE TABLE t (a int); TRUNCATE t"),
    ("MG022", "ALTER TABLE meas DETACH PARTITION meas_1",
     "ALTER TABLE meas DETACH PARTITION meas_1 CONCURRENTLY"),
]


@pytest.mark.parametrize("code,bad,good", CASES)
def test_rule_fires_and_not(code, bad, good):
    assert code in codes(bad), codes(bad)
    assert code not in codes(good), codes(good)


def test_concurrently_inside_transaction_fails():
    assert "MG002" in codes("BEGIN; CREATE INDEX CONCURRENTLY i ON users (qty); COMMIT;")
    assert "MG002" in codes("CREATE INDEX CONCURRENTLY i ON users (qty)", tx=True)
    assert "MG002" in codes("REINDEX INDEX CONCURRENTLY users_name_idx", tx=True)
    assert "MG002" in codes("DROP INDEX CONCURRENTLY users_name_idx", tx=True)
    assert "MG002" in codes("VACUUM users", tx=True)
    assert "MG002" not in codes("CREATE INDEX CONCURRENTLY i ON users (qty)")
    assert "MG002" not in codes("BEGIN; COMMIT; CREATE INDEX CONCURRENTLY i ON users (qty)")


def test_enum_add_value_in_transaction_version_aware():
    sql = "BEGIN; ALTER TYPE mood ADD VALUE 'happy'; COMMIT;"
    assert "MG018" in codes(sql, v=110000)
    assert "MG018" not in codes(sql, v=140000)
    assert "MG018" not in codes("ALTER TYPE mood ADD VALUE 'happy'", v=110000)
    rep = first("ALTER TYPE mood ADD VALUE 'happy'", v=140000, tx=True)
    assert any("cannot be used until" in c for c in rep.caveats)


def test_add_column_default_before_11_rewrites():
    assert "MG004" in codes("ALTER TABLE users ADD COLUMN c int DEFAULT 0", v=100000)
    assert "MG004" not in codes("ALTER TABLE users ADD COLUMN c int DEFAULT 0", v=110000)


def test_set_not_null_check_only_helps_from_12():
    sql = ("ALTER TABLE users ADD CONSTRAINT c CHECK (name IS NOT NULL) NOT VALID;"
           "ALTER TABLE users VALIDATE CONSTRAINT c;"
           "ALTER TABLE users ALTER COLUMN name SET NOT NULL")
    assert "MG007" in codes(sql, v=110000)
    assert first(sql).effect == mr.CATALOG


def test_transaction_holding_locks_across_statements():
    sql = ("BEGIN; ALTER TABLE users ADD COLUMN c int; "
           "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id); COMMIT;")
    rep = analyze_sql(sql, 170000, schema=S)
    assert "MG019" in rep.codes()
    held = {h.relation: h.mode for h in rep.held[0]}
    assert held == {"users": ACCESS_EXCLUSIVE, "orders": SHARE_ROW_EXCLUSIVE}
    # separate transactions: nothing held across
    sql2 = ("BEGIN; ALTER TABLE users ADD COLUMN c int; COMMIT; BEGIN; "
            "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id); COMMIT;")
    assert "MG019" not in analyze_sql(sql2, 170000, schema=S).codes()
    # whole file as one transaction (migration tools)
    plain = sql.replace("BEGIN;", "").replace("COMMIT;", "")
    assert "MG019" in analyze_sql(plain, 170000, schema=S, assume_in_transaction=True).codes()
    assert "MG019" not in analyze_sql(plain, 170000, schema=S).codes()


@pytest.mark.parametrize("sql,rel,mode", [
    ("CREATE INDEX i ON users (qty)", "users", SHARE),
    ("CREATE INDEX CONCURRENTLY i ON users (qty)", "users", SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE users ALTER COLUMN qty SET STATISTICS 100", "users", SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE users CLUSTER ON users_pkey", "users", SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE users SET WITHOUT CLUSTER", "users", SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE users SET (fillfactor = 70)", "users", SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE users SET (autovacuum_enabled = false)", "users", SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE orders ADD FOREIGN KEY (u) REFERENCES users (id)", "users", SHARE_ROW_EXCLUSIVE),
    ("ALTER TABLE orders ADD FOREIGN KEY (u) REFERENCES users (id)", "orders", SHARE_ROW_EXCLUSIVE),
    ("ALTER TABLE users VALIDATE CONSTRAINT c", "users", SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE meas ATTACH PARTITION m2 FOR VALUES FROM (1) TO (2)", "meas",
     SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE meas ATTACH PARTITION m2 FOR VALUES FROM (1) TO (2)", "m2", ACCESS_EXCLUSIVE),
    ("ALTER TABLE meas DETACH PARTITION m2 CONCURRENTLY", "meas", SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE meas DETACH PARTITION m2", "meas", ACCESS_EXCLUSIVE),
    ("ALTER TABLE users DISABLE TRIGGER t", "users", SHARE_ROW_EXCLUSIVE),
    ("CREATE TRIGGER t AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION f()", "users",
     SHARE_ROW_EXCLUSIVE),
    ("REINDEX INDEX users_name_idx", "users", SHARE),
    ("REINDEX INDEX users_name_idx", "users_name_idx", ACCESS_EXCLUSIVE),
    ("REINDEX TABLE CONCURRENTLY users", "users", SHARE_UPDATE_EXCLUSIVE),
    ("DROP INDEX users_name_idx", "users", ACCESS_EXCLUSIVE),
    ("CREATE TABLE e (id int, u bigint REFERENCES users (id))", "users", SHARE_ROW_EXCLUSIVE),
    ("DROP INDEX CONCURRENTLY users_name_idx", "users", SHARE_UPDATE_EXCLUSIVE),
    ("VACUUM FULL users", "users", ACCESS_EXCLUSIVE),
    ("TRUNCATE users", "users", ACCESS_EXCLUSIVE),
    ("ALTER TABLE users RENAME COLUMN a TO b", "users", ACCESS_EXCLUSIVE),
    ("ALTER INDEX users_name_idx RENAME TO x", "users_name_idx", SHARE_UPDATE_EXCLUSIVE),
    ("ALTER TABLE users ADD COLUMN a int, ALTER COLUMN qty SET STATISTICS 10", "users",
     ACCESS_EXCLUSIVE),
])
def test_lock_table(sql, rel, mode):
    assert first(sql, tx=True).lock_on(rel) == mode


def test_validate_fk_takes_row_share_on_referenced_table():
    sql = ("ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id) NOT VALID;"
           "ALTER TABLE orders VALIDATE CONSTRAINT f")
    assert first(sql).lock_on("users") == ROW_SHARE


@pytest.mark.parametrize("old,new,expected", [
    ("varchar(10)", "varchar(20)", True), ("varchar(20)", "varchar(10)", False),
    ("varchar(10)", "text", True), ("varchar(10)", "varchar", True), ("text", "varchar", True),
    ("text", "varchar(10)", False), ("numeric(10,2)", "numeric(12,2)", True),
    ("numeric(10,2)", "numeric(12,3)", False), ("numeric(10,2)", "numeric", True),
    ("cidr", "inet", True), ("inet", "cidr", False), ("int", "bigint", False),
    ("timestamp(3)", "timestamp(6)", True), ("char(5)", "text", False),
])
def test_binary_coercible(old, new, expected):
    ok, _ = binary_coercible(typespec_from_text(old), typespec_from_text(new), None, 170000)
    assert ok is expected


def test_timestamp_to_timestamptz_depends_on_timezone():
    o, n = typespec_from_text("timestamp"), typespec_from_text("timestamptz")
    assert binary_coercible(o, n, True, 170000)[0] is True
    assert binary_coercible(o, n, False, 170000)[0] is False
    assert binary_coercible(o, n, None, 170000)[0] is None
    assert binary_coercible(o, n, True, 110000)[0] is False


def test_effects():
    assert first("ALTER TABLE users ADD COLUMN c int DEFAULT 1").effect == mr.CATALOG
    assert first("ALTER TABLE users ALTER COLUMN qty TYPE bigint").effect == mr.REWRITE
    assert first("ALTER TABLE users ALTER COLUMN name SET NOT NULL").effect == mr.SCAN
    assert first("CREATE INDEX i ON users (qty)").effect == mr.BUILD
    assert first("ALTER TABLE users DROP COLUMN qty").effect == mr.CATALOG


def test_every_safe_rewrite_is_valid_sql():
    for _, bad, _ in CASES:
        for _, f in analyze_sql(bad, 170000, schema=S).all_findings():
            if f.safe_sql:
                parse_sql(f.safe_sql)


def test_lock_conflict_matrix_symmetric():
    for a in LOCK_ORDER:
        for b in LOCK_ORDER:
            assert conflicts(a, b) == conflicts(b, a)


def test_a_stored_generated_column_rewrites_and_has_no_online_form() -> None:
    """Found by the squawk benchmark: a rewrite with no DEFAULT to backfill from."""
    sql = "ALTER TABLE users ADD COLUMN d int GENERATED ALWAYS AS (qty * 2) STORED"
    finding = next(f for _, f in analyze_sql(sql, 170000, schema=S).all_findings()
                   if f.code == "MG004")
    assert finding.safe_sql == ""
    assert "no online form" in finding.detail
