"""The live side of `pgsage migration check`: catalog facts and evidence for named relations.

Everything runs on pgsage's safe, read-only Session. Relation names are resolved as the
migration would resolve them (to_regclass, the role's search_path). Rates are deltas of
pg_stat_user_tables over a measured interval; the sessions are pg_locks joined with
pg_stat_activity at one instant, without query texts (they may hold secrets).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from pgsage.analyzer.live.connection import Session
from pgsage.analyzer.migration.analysis import Schema
from pgsage.analyzer.migration.evidence import Evidence, RelationEvidence, Timeouts
from pgsage.analyzer.migration.evidence import Session as Holder
from pgsage.analyzer.migration.locks import FROM_PG_LOCKS
from pgsage.analyzer.migration.rewrites import qualified

LONG_TRANSACTION_S = 60.0


def _resolve(session: Session, names: Iterable[str]) -> dict[str, int]:
    names = sorted(set(names))
    if not names:
        return {}
    rows = session.fetch(
        "SELECT n.name, to_regclass(n.quoted)::oid AS oid "
        "FROM unnest(%(names)s::text[], %(quoted)s::text[]) AS n(name, quoted)",
        {"names": names, "quoted": [qualified(n) for n in names]})
    return {r["name"]: int(r["oid"]) for r in rows if r["oid"] is not None}


def read_schema(session: Session, names: Iterable[str]) -> Schema:
    """Column types, valid NOT NULL checks, indexes, FKs and keys of the named relations."""
    oids = _resolve(session, names)
    by_oid = {oid: name for name, oid in oids.items()}
    schema = Schema(known=True)
    if oids:
        ids = list(oids.values())
        for r in session.fetch(
                "SELECT attrelid::oid AS rel, attname, format_type(atttypid, atttypmod) AS type "
                "FROM pg_attribute WHERE attrelid = ANY(%(ids)s::oid[]) AND attnum > 0 "
                "AND NOT attisdropped", {"ids": ids}):
            schema.columns.setdefault(by_oid[int(r["rel"])], {})[r["attname"]] = r["type"]
        for r in session.fetch(
                "SELECT c.conrelid::oid AS rel, c.conname, c.contype::text AS contype, "
                "c.confrelid::regclass::text AS ref, a.attname "
                "FROM pg_constraint c LEFT JOIN pg_attribute a ON a.attrelid = c.conrelid "
                "AND c.contype = 'c' AND c.convalidated "
                "AND pg_get_constraintdef(c.oid) = format('CHECK ((%%I IS NOT NULL))', a.attname)"
                " WHERE c.conrelid = ANY(%(ids)s::oid[])", {"ids": ids}):
            table = by_oid[int(r["rel"])]
            if r["contype"] == "f":
                schema.foreign_keys[(table, r["conname"])] = str(r["ref"])
            elif r["attname"] is not None:
                schema.valid_not_null_checks.add((table, r["attname"]))
        for r in session.fetch(
                "SELECT i.indexrelid::oid AS idx, i.indrelid::oid AS rel, "
                "i.indrelid::regclass::text AS table_name, i.indisprimary, "
                "array(SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid "
                "AND attnum = ANY(i.indkey) ORDER BY array_position(i.indkey, attnum)) AS cols "
                "FROM pg_index i WHERE i.indexrelid = ANY(%(ids)s::oid[]) "
                "OR (i.indrelid = ANY(%(ids)s::oid[]) AND i.indisprimary)", {"ids": ids}):
            if int(r["idx"]) in by_oid:
                schema.index_table[by_oid[int(r["idx"])]] = by_oid.get(int(r["rel"]),
                                                                        r["table_name"])
            if r["indisprimary"] and int(r["rel"]) in by_oid:
                schema.primary_keys[by_oid[int(r["rel"])]] = tuple(r["cols"])
    for r in session.fetch("SELECT proname, max(provolatile::text) AS v FROM pg_proc "
                           "GROUP BY proname"):
        schema.functions[r["proname"]] = r["v"]
    tz = session.fetch("SELECT current_setting('TimeZone') AS tz")[0]["tz"]
    schema.timezone_utc = tz in ("UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu", "UCT")
    return schema


def _counters(session: Session, oids: dict[str, int]) -> dict[str, tuple[float, float]]:
    rows = session.fetch(
        "SELECT relid::oid AS rel, n_tup_ins + n_tup_upd + n_tup_del AS writes, "
        "coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS reads "
        "FROM pg_stat_user_tables WHERE relid = ANY(%(ids)s::oid[])",
        {"ids": list(oids.values())})
    by_oid = {oid: name for name, oid in oids.items()}
    return {by_oid[int(r["rel"])]: (float(r["writes"]), float(r["reads"])) for r in rows}


def read_evidence(session: Session, names: Iterable[str], sample_s: float,
                  sleep: Callable[[float], None] = time.sleep,
                  long_transaction_s: float = LONG_TRANSACTION_S) -> Evidence:
    """Sizes, traffic over `sample_s` seconds, lock holders and the migration's timeouts."""
    oids = _resolve(session, names)
    ids = list(oids.values())
    sizes, notes = _sizes(session, ids)
    before, start = _counters(session, oids), time.monotonic()
    if sample_s > 0 and before:
        sleep(sample_s)
    after, elapsed = _counters(session, oids), max(time.monotonic() - start, 1e-9)
    relations = {}
    for name, oid in oids.items():
        size = sizes.get(oid)
        if size is None:
            continue
        b, a = before.get(name), after.get(name)
        rates = ((a[0] - b[0]) / elapsed, (a[1] - b[1]) / elapsed) if a and b and sample_s > 0 \
            else (None, None)
        relations[name] = RelationEvidence(name, int(size["heap"]), int(size["total"]),
                                           int(size["rows"]), rates[0], rates[1])
    return Evidence(sample_seconds=elapsed if sample_s > 0 else 0.0, relations=relations,
                    sessions=_sessions(session, oids),
                    long_transactions=_long_transactions(session, long_transaction_s),
                    timeouts=_timeouts(session), notes=notes)


SIZES = ("SELECT oid AS rel, pg_relation_size(oid) AS heap, pg_total_relation_size(oid) AS total,"
         " reltuples::bigint AS rows FROM pg_class WHERE oid = ANY(%(ids)s::oid[])")
SIZES_FROM_CATALOG = (
    "SELECT c.oid AS rel, c.relpages::bigint * current_setting('block_size')::bigint AS heap, "
    "(c.relpages + coalesce(t.relpages, 0) + coalesce((SELECT sum(i.relpages) FROM pg_index x "
    "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), 0))::bigint "
    "* current_setting('block_size')::bigint AS total, c.reltuples::bigint AS rows "
    "FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid "
    "WHERE c.oid = ANY(%(ids)s::oid[])")


def _sizes(session: Session, ids: list[int]) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Exact sizes; when a lock on a relation is queued (pg_relation_size needs ACCESS SHARE,
    which waits behind a queued ALTER) the catalog's page counts as of the last VACUUM."""
    try:
        return {int(r["rel"]): r for r in session.fetch(SIZES, {"ids": ids})}, []
    except psycopg.errors.LockNotAvailable:
        rows = session.fetch(SIZES_FROM_CATALOG, {"ids": ids})
        return {int(r["rel"]): r for r in rows}, [
            "sizes from pg_class.relpages (as of the last VACUUM/ANALYZE): reading them "
            "exactly would have queued behind a lock"]


def _sessions(session: Session, oids: dict[str, int]) -> list[Holder]:
    if not oids:
        return []
    by_oid = {oid: name for name, oid in oids.items()}
    rows = session.fetch(
        "SELECT l.relation::oid AS rel, l.pid, l.mode, l.granted, a.state, "
        "a.application_name, extract(epoch FROM now() - a.xact_start)::float8 AS age, "
        "pg_blocking_pids(l.pid) AS blocked_by "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'relation' AND l.relation = ANY(%(ids)s::oid[]) "
        "AND l.pid <> pg_backend_pid() ORDER BY l.granted DESC, a.xact_start",
        {"ids": list(oids.values())})
    return [Holder(int(r["pid"]), by_oid[int(r["rel"])], FROM_PG_LOCKS.get(r["mode"], r["mode"]),
                   bool(r["granted"]), r["state"] or "", r["age"],
                   tuple(int(p) for p in r["blocked_by"] or ()), r["application_name"] or "")
            for r in rows]


def _long_transactions(session: Session, threshold_s: float) -> list[Holder]:
    rows = session.fetch(
        "SELECT pid, state, application_name, "
        "extract(epoch FROM now() - xact_start)::float8 AS age FROM pg_stat_activity "
        "WHERE xact_start < now() - make_interval(secs => %(s)s) AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend' ORDER BY xact_start", {"s": threshold_s})
    return [Holder(int(r["pid"]), "", "", True, r["state"] or "", r["age"], (),
                   r["application_name"] or "") for r in rows]


def _timeouts(session: Session) -> Timeouts:
    """lock_timeout and statement_timeout the migration's role gets in this database.

    pgsage's own session sets both, so current_setting() would describe pgsage: the values
    come from ALTER ROLE/DATABASE ... SET (pg_db_role_setting), then the configuration files
    where the role may read them, else the built-in default (0, no timeout).
    """
    found: dict[str, tuple[str, str]] = {}
    rows = session.fetch(
        "SELECT s.setdatabase <> 0 AS per_db, s.setrole <> 0 AS per_role, s.setconfig "
        "FROM pg_db_role_setting s WHERE s.setrole IN (0, (SELECT oid FROM pg_roles "
        "WHERE rolname = current_user)) AND s.setdatabase IN (0, (SELECT oid FROM pg_database "
        "WHERE datname = current_database())) ORDER BY per_role DESC, per_db DESC")
    for r in rows:
        where = ("ALTER ROLE ... IN DATABASE" if r["per_db"] and r["per_role"] else
                 "ALTER ROLE" if r["per_role"] else "ALTER DATABASE")
        for item in r["setconfig"] or ():
            key, _, value = item.partition("=")
            if key in ("lock_timeout", "statement_timeout"):
                found.setdefault(key, (value, where))
    if len(found) < 2:
        _from_files(session, found)
    lock = found.get("lock_timeout")
    stmt = found.get("statement_timeout")
    sources = sorted({v[1] for v in found.values()}) or ["built-in default"]
    return Timeouts(lock[0] if lock else None, stmt[0] if stmt else None, ", ".join(sources))


def _from_files(session: Session, found: dict[str, tuple[str, str]]) -> None:
    try:
        rows = session.fetch("SELECT name, setting FROM pg_file_settings WHERE applied AND "
                             "name IN ('lock_timeout', 'statement_timeout')")
    except psycopg.errors.InsufficientPrivilege:
        return
    for r in rows:
        found.setdefault(r["name"], (r["setting"], "postgresql.conf"))


def server_version(session: Session) -> int:
    return int(session.fetch("SELECT current_setting('server_version_num') AS v")[0]["v"])


def target_of(session: Session) -> dict[str, Any]:
    row = session.fetch("SELECT current_database() AS db, inet_server_port() AS port")[0]
    return {"database": row["db"], "port": row["port"]}
