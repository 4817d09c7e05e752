"""The safe rewrites, as runnable SQL: identifiers quoted by pglast, statements deparsed.

Each builder returns SQL a DBA can paste into psql as it is. Batches loop inside a DO block
that COMMITs after each batch (PostgreSQL 11+, outside any transaction block), so no batch
holds its row locks for longer than one batch takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pglast.stream import RawStream

from pgsage.analyzer.sqlgen import ident, index_name, literal

BATCH_ROWS = 10000
LOCK_TIMEOUT = "2s"


def deparse(node: Any) -> str:
    """A pglast node printed back as SQL (names quoted as the grammar needs)."""
    return str(RawStream()(node))


def qualified(relation: str) -> str:
    """A relation name as the analyser keeps it (`schema.table` or `table`), quoted."""
    return ident(*relation.split("."))


def bare(relation: str) -> str:
    return relation.rsplit(".", 1)[-1]


def _dollar_tag(body: str) -> str:
    tag = "pgsage"
    while f"${tag}$" in body:
        tag += "_"
    return f"${tag}$"


def do_block(body: str) -> str:
    tag = _dollar_tag(body)
    return f"DO {tag}\n{body.rstrip()}\n{tag};"


def with_lock_timeout(statement: str, attempts: int = 10) -> str:
    """Run `statement` with a short lock_timeout, retried with backoff.

    Each attempt is a subtransaction: when the lock is not granted within the timeout the
    attempt is rolled back (its lock request leaves the queue, so traffic behind it moves
    again) and retried after a randomized pause.
    """
    return do_block(
        "DECLARE pgsage_attempt int := 0;\nBEGIN\n  LOOP\n    BEGIN\n"
        f"      PERFORM set_config('lock_timeout', {literal(LOCK_TIMEOUT)}, true);\n"
        f"      EXECUTE {literal(statement.strip().rstrip(';'))};\n"
        "      EXIT;\n"
        "    EXCEPTION WHEN lock_not_available THEN\n"
        "      pgsage_attempt := pgsage_attempt + 1;\n"
        f"      IF pgsage_attempt >= {attempts} THEN RAISE; END IF;\n"
        "      PERFORM pg_sleep(least(30, 2 ^ pgsage_attempt) * random());\n"
        "    END;\n  END LOOP;\nEND")


def batched_update(table: str, assignments: str, pending: str) -> str:
    """UPDATE in batches of rows still `pending` (a condition false once a row is done)."""
    t = qualified(table)
    return do_block(
        "DECLARE pgsage_rows bigint;\nBEGIN\n  LOOP\n"
        f"    UPDATE {t} SET {assignments}\n"
        f"      WHERE ctid = ANY (ARRAY(SELECT ctid FROM {t} WHERE {pending} "
        f"LIMIT {BATCH_ROWS}));\n"
        "    GET DIAGNOSTICS pgsage_rows = ROW_COUNT;\n"
        "    EXIT WHEN pgsage_rows = 0;\n    COMMIT;\n"
        "  END LOOP;\nEND")


def batched_delete(table: str, condition: str = "true") -> str:
    t = qualified(table)
    return do_block(
        "DECLARE pgsage_rows bigint;\nBEGIN\n  LOOP\n"
        f"    DELETE FROM {t}\n"
        f"      WHERE ctid = ANY (ARRAY(SELECT ctid FROM {t} WHERE {condition} "
        f"LIMIT {BATCH_ROWS}));\n"
        "    GET DIAGNOSTICS pgsage_rows = ROW_COUNT;\n"
        "    EXIT WHEN pgsage_rows = 0;\n    COMMIT;\n"
        "  END LOOP;\nEND")


def batched_by_key(table: str, key: str, assignments: str, condition: str | None) -> str:
    """UPDATE in key ranges, for assignments that are not idempotent (`n = n + 1`)."""
    t, k = qualified(table), ident(key)
    where = f"({condition}) AND " if condition else ""
    return do_block(
        "DECLARE pgsage_lo bigint; pgsage_hi bigint;\nBEGIN\n"
        f"  SELECT min({k}), max({k}) INTO pgsage_lo, pgsage_hi FROM {t};\n"
        "  WHILE pgsage_lo <= pgsage_hi LOOP\n"
        f"    UPDATE {t} SET {assignments}\n"
        f"      WHERE {where}{k} >= pgsage_lo AND {k} < pgsage_lo + {BATCH_ROWS};\n"
        f"    COMMIT;\n    pgsage_lo := pgsage_lo + {BATCH_ROWS};\n  END LOOP;\nEND")


def not_null_constraint_name(table: str, column: str) -> str:
    return index_name(bare(table), [column], "not_null")


def not_null_steps(table: str, column: str) -> str:
    """SET NOT NULL without the long scan under ACCESS EXCLUSIVE (12+)."""
    t, c = qualified(table), ident(column)
    con = ident(not_null_constraint_name(table, column))
    return (f"ALTER TABLE {t} ADD CONSTRAINT {con} CHECK ({c} IS NOT NULL) NOT VALID;\n"
            f"ALTER TABLE {t} VALIDATE CONSTRAINT {con};\n"
            f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;\n"
            f"ALTER TABLE {t} DROP CONSTRAINT {con};")


def shadow_column_swap(table: str, column: str, new_type: str, convert_row: str,
                       convert_new: str, retried: bool = True) -> str:
    """ALTER COLUMN TYPE as expand (shadow column + trigger), backfill, swap.

    `convert_row` is the conversion of the column as the backfill reads it, `convert_new`
    the same on the trigger's NEW record; both already deparsed. `retried=False` gives the
    statements without their lock_timeout loops (what they are judged by).
    """
    def locked(statement: str) -> str:
        return with_lock_timeout(statement) if retried else statement + ";"

    t, c = qualified(table), ident(column)
    tmp = ident(f"{column}_new")
    old = ident(f"{column}_old")
    fn = ident(*table.split(".")[:-1], index_name(bare(table), [column], "sync"))
    trig = ident(index_name(bare(table), [column], "sync"))
    body = f"BEGIN\n  NEW.{tmp} := {convert_new};\n  RETURN NEW;\nEND"
    tag = _dollar_tag(body)
    pending = f"{tmp} IS DISTINCT FROM {convert_row}"
    return (
        f"{locked(f'ALTER TABLE {t} ADD COLUMN {tmp} {new_type}')}\n"
        f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS {tag}\n{body}\n{tag};\n"
        + locked(f"CREATE TRIGGER {trig} BEFORE INSERT OR UPDATE ON {t} "
                            f"FOR EACH ROW EXECUTE FUNCTION {fn}()") + "\n"
        f"{batched_update(table, f'{tmp} = {convert_row}', pending)}\n"
        "-- recreate the column's indexes and constraints on the new column here "
        "(CREATE INDEX CONCURRENTLY, ADD CONSTRAINT ... NOT VALID + VALIDATE)\n"
        f"{locked(_swap(t, c, tmp, old, trig, fn))}\n"
        f"{locked(f'ALTER TABLE {t} DROP COLUMN {old}')}")


def _swap(t: str, c: str, tmp: str, old: str, trig: str, fn: str) -> str:
    return (f"ALTER TABLE {t} RENAME COLUMN {c} TO {old}; "
            f"ALTER TABLE {t} RENAME COLUMN {tmp} TO {c}; "
            f"DROP TRIGGER {trig} ON {t}; DROP FUNCTION {fn}()")


def columns_list(columns: Sequence[str]) -> str:
    return ", ".join(ident(c) for c in columns)
