"""Records and snapshots for unit tests, with sensible defaults: no database needed.

Every factory takes the fields a test cares about as keyword arguments and fills the rest
with what a quiet, healthy table or index would show, so a test states one behaviour.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from pgsage.analyzer.engine.pipeline import estimate_indexes
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.host import HostSpec
from pgsage.analyzer.model.snapshot import CollectorStatus, Snapshot, Target
from pgsage.analyzer.sqlgen import ident
from pgsage.analyzer.units import GB
from pgsage.collectors.activity import Backend
from pgsage.collectors.archiver import ArchiverStats
from pgsage.collectors.columns import Column
from pgsage.collectors.constraints import Constraint
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.databases import Database
from pgsage.collectors.extensions import Extension
from pgsage.collectors.hba import HbaRule
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.key_ranges import KeyRange
from pgsage.collectors.namespaces import Namespace
from pgsage.collectors.plans import StatementPlan
from pgsage.collectors.prepared_xacts import PreparedXact
from pgsage.collectors.replication import Replica
from pgsage.collectors.replication_slots import ReplicationSlot
from pgsage.collectors.roles import Role
from pgsage.collectors.row_security import RowSecurity
from pgsage.collectors.sequences import Sequence
from pgsage.collectors.server import Server
from pgsage.collectors.settings import Setting
from pgsage.collectors.statements import StatementStats
from pgsage.collectors.tables import TableStats
from pgsage.collectors.wal import WalStats

DAY = 86_400.0
NOW = 1_795_000_000.0
"""taken_at of every snapshot unless a test says otherwise."""

_oids = itertools.count(16_384)


def oid() -> int:
    return next(_oids)


def make_table(name: str = "orders", schema: str = "public", rows: float = 10_000,
               **fields: Any) -> TableStats:
    """A plain table with `rows` rows and no activity."""
    values: dict[str, Any] = {
        "relid": oid(), "schema": schema, "name": name, "relkind": "r", "persistence": "p",
        "reltuples": float(rows), "relpages": max(int(rows // 100), 1),
        "table_bytes": max(int(rows * 100), 8192), "toast_bytes": None,
        "is_partition": False, "parent_relid": None, "partition_strategy": None,
        "partition_key": None, "reloptions": None, "frozenxid_age": 1000, "minmxid_age": 10,
        "seq_scan": 0, "seq_tup_read": 0, "idx_scan": 0, "idx_tup_fetch": 0,
        "n_tup_ins": 0, "n_tup_upd": 0, "n_tup_del": 0, "n_tup_hot_upd": 0,
        "n_live_tup": int(rows), "n_dead_tup": 0, "n_mod_since_analyze": 0,
        "n_ins_since_vacuum": 0, "last_vacuum": None, "last_autovacuum": None,
        "last_analyze": None, "last_autoanalyze": None, "vacuum_count": 0,
        "autovacuum_count": 0, "analyze_count": 0, "autoanalyze_count": 0,
    }
    values.update(fields)
    return TableStats(**values)


def make_index(table: TableStats, name: str | None = None,
               columns: tuple[str | None, ...] = ("customer_id",), method: str = "btree",
               **fields: Any) -> IndexStats:
    """A valid, non-unique, unused btree index of `table` (1 GB unless `bytes` says)."""
    name = name or "_".join([table.name, *(c or "expr" for c in columns), "idx"])
    unique = fields.get("is_unique", False)
    cols = ", ".join(ident(c) if c else "(lower(x))" for c in columns)
    definition = (f"CREATE {'UNIQUE ' if unique else ''}INDEX {ident(name)} ON "
                  f"{ident(table.schema, table.name)} USING {method} ({cols})")
    values: dict[str, Any] = {
        "indexrelid": oid(), "relid": table.relid, "schema": table.schema,
        "table": table.name, "name": name, "method": method, "definition": definition,
        "columns": columns, "key_count": len(columns),
        "opclasses": tuple("int4_ops" for _ in columns), "options": tuple(0 for _ in columns),
        "expressions": None, "predicate": None, "is_unique": False, "is_primary": False,
        "is_exclusion": False, "is_valid": True, "is_ready": True,
        "is_replica_identity": False, "constraint_name": None, "constraint_type": None,
        "referenced_by_fk": False, "bytes": 1024**3, "idx_scan": 0, "idx_tup_read": 0,
        "idx_tup_fetch": 0, "last_idx_scan": None,
    }
    values.update(fields)
    return IndexStats(**values)


def make_pkey(table: TableStats, columns: tuple[str, ...] = ("id",), **fields: Any) -> IndexStats:
    return make_index(table, f"{table.name}_pkey", columns, is_unique=True, is_primary=True,
                      constraint_name=f"{table.name}_pkey", constraint_type="p",
                      **{"idx_scan": 1000, **fields})


def make_fk(child: TableStats, columns: tuple[str, ...], parent: TableStats,
            ref_columns: tuple[str, ...] = ("id",), name: str | None = None,
            **fields: Any) -> Constraint:
    values: dict[str, Any] = {
        "oid": oid(), "name": name or f"{child.name}_{'_'.join(columns)}_fkey", "type": "f",
        "relid": child.relid, "schema": child.schema, "table": child.name,
        "columns": columns, "ref_relid": parent.relid, "ref_schema": parent.schema,
        "ref_table": parent.name, "ref_columns": ref_columns, "on_update": "a",
        "on_delete": "a", "deferrable": False, "validated": True,
    }
    values.update(fields)
    return Constraint(**values)


def make_sequence(name: str = "orders_id_seq", last_value: int | None = 1, **fields: Any
                  ) -> Sequence:
    """An ascending int4 serial sequence owned by public.orders.id."""
    values: dict[str, Any] = {
        "schema": "public", "name": name, "data_type": "integer", "increment_by": 1,
        "min_value": 1, "max_value": 2**31 - 1, "cycle": False, "last_value": last_value,
        "readable": True, "owner_schema": "public", "owner_table": "orders",
        "owner_column": "id", "owner_column_type": "integer",
    }
    values.update(fields)
    return Sequence(**values)


def make_setting(name: str, value: str | None, unit: str | None = None) -> Setting:
    return Setting(name=name, setting=value, unit=unit, vartype="string", context="postmaster",
                   source="configuration file", boot_val="", reset_val=value,
                   pending_restart=False)


def make_extension(name: str = "pg_stat_statements", installed: str | None = "1.11",
                   available: bool = True) -> Extension:
    return Extension(name=name, installed_version=installed, default_version="1.11",
                     schema="public" if installed else None, available=available)


def make_statement(queryid: int, query: str, calls: int = 1, **fields: Any) -> StatementStats:
    """A pg_stat_statements entry of user app; counters not given are zero."""
    zeros = {f.name: 0 for f in dataclasses.fields(StatementStats)
             if f.default is dataclasses.MISSING}
    zeros.update({"userid": 10, "username": "app", "dbid": 1, "toplevel": True,
                  "queryid": queryid, "calls": calls})
    zeros.update(fields)
    return StatementStats(**zeros, query=query)


def make_column(table: TableStats, name: str, type: str = "bigint", attnum: int = 1,
                **fields: Any) -> Column:
    """A NOT NULL column of `table` with statistics (8 bytes, all distinct, uncorrelated)."""
    values: dict[str, Any] = {
        "relid": table.relid, "schema": table.schema, "table": table.name, "name": name,
        "attnum": attnum, "type": type, "not_null": True, "has_default": False,
        "identity": None, "generated": None, "inherited": False, "null_frac": 0.0,
        "avg_width": 8, "n_distinct": -1.0, "correlation": 0.0,
        "most_common_vals": None, "most_common_freqs": None,
    }
    values.update(fields)
    return Column(**values)


def plan_node(node_type: str, rows: float = 1.0, cost: float = 10.0,
              children: Iterable[dict[str, Any]] = (), **keys: Any) -> dict[str, Any]:
    """One node of an EXPLAIN (FORMAT JSON) plan; `keys` use underscores for spaces
    (Relation_Name="orders", Index_Name="orders_pkey", Filter="(status = $1)")."""
    node: dict[str, Any] = {"Node Type": node_type, "Startup Cost": 0.0, "Total Cost": cost,
                            "Plan Rows": rows, "Plan Width": 8}
    node.update({k.replace("_", " "): v for k, v in keys.items()})
    if children:
        node["Plans"] = list(children)
    return node


def make_plan(queryid: int, tree: dict[str, Any]) -> StatementPlan:
    """The plans collector's record of one statement's plan (hash computed from the tree)."""
    from pgsage.analyzer.model.plan_tree import Plan, record

    return record(queryid, Plan(float(tree["Total Cost"]), float(tree["Plan Rows"]), tree))


def make_backend(pid: int = 4242, query_id: int | None = None, state: str = "active"
                 ) -> Backend:
    return Backend(pid=pid, leader_pid=None, datname="shop", usename="app",
                   is_superuser=False, application_name="psql", client_addr=None,
                   backend_type="client backend", state=state, wait_event_type=None,
                   wait_event=None, backend_start_age=60.0, xact_start_age=5.0,
                   query_start_age=5.0, state_change_age=5.0, backend_xid_age=None,
                   backend_xmin_age=None, query_id=query_id, ssl=False)


def make_server(taken_at: float = NOW, uptime_days: float = 30.0, **fields: Any) -> Server:
    values: dict[str, Any] = {
        "server_version_num": 180000, "version": "PostgreSQL 18.0", "database": "shop",
        "in_recovery": False, "started_at": taken_at - uptime_days * DAY,
        "collected_at": taken_at, "database_bytes": 10 * 1024**3, "current_user": "pgsage",
        "is_superuser": False, "has_pg_monitor": True,
    }
    values.update(fields)
    return Server(**values)


def make_database(stats_reset: float | None = None) -> DatabaseStats:
    counters = {f.name: 0 for f in dataclasses.fields(DatabaseStats)
                if f.default is dataclasses.MISSING}
    counters.update({"datid": 1, "datname": "shop", "checksum_failures": None,
                     "checksum_last_failure": None, "blk_read_time": 0.0,
                     "blk_write_time": 0.0, "session_time": 0.0, "active_time": 0.0,
                     "idle_in_transaction_time": 0.0, "stats_reset": stats_reset})
    return DatabaseStats(**counters)


def make_snapshot(
    tables: Iterable[TableStats] = (),
    indexes: Iterable[IndexStats] = (),
    constraints: Iterable[Constraint] = (),
    sequences: Iterable[Sequence] = (),
    settings: Iterable[Setting] | None = None,
    extensions: Iterable[Extension] | None = None,
    statements: Iterable[StatementStats] = (),
    activity: Iterable[Backend] = (),
    taken_at: float = NOW,
    uptime_days: float = 30.0,
    stats_reset: float | None = None,
    version: int = 180000,
    in_recovery: bool = False,
    failed: dict[str, str] | None = None,
    data: dict[str, list[Any]] | None = None,
    absent: Iterable[str] = (),
) -> Snapshot:
    """A snapshot of a server up `uptime_days`, every collector ok unless `failed` says.

    The database's statistics were reset when the server started (`stats_reset` moves
    that), so table counters cover the uptime: a known window.

    `failed` maps a collector name to its skip reason; its rows are then absent. Collectors
    named in `absent` were not run at all (neither rows nor status).
    """
    if settings is None:
        settings = [make_setting("shared_preload_libraries", "pg_stat_statements")]
    if extensions is None:
        extensions = [make_extension()]
    rows: dict[str, list[Any]] = {
        "server": [make_server(taken_at, uptime_days, server_version_num=version,
                               in_recovery=in_recovery)],
        "settings": list(settings),
        "extensions": list(extensions),
        "statements": list(statements),
        "tables": list(tables),
        "indexes": list(indexes),
        "constraints": list(constraints),
        "sequences": list(sequences),
        "database": [make_database(stats_reset if stats_reset is not None
                                   else NOW - uptime_days * DAY)],
        "activity": list(activity),
    }
    rows.update(data or {})
    for name in absent:
        rows.pop(name, None)
    failed = failed or {}
    status = {name: (CollectorStatus(ok=False, reason=failed[name]) if name in failed
                     else CollectorStatus(ok=True, rows=len(found), seconds=0.01))
              for name, found in rows.items()}
    for name in failed:
        status.setdefault(name, CollectorStatus(ok=False, reason=failed[name]))
    data_rows = {name: found for name, found in rows.items() if name not in failed}
    return Snapshot(taken_at=taken_at,
                    target=Target(database="shop", host="db1", port=5432,
                                  server_version_num=version),
                    status=status, data=data_rows)


def make_model(baseline: Snapshot | None = None, **snapshot: Any) -> Model:
    return estimate_indexes(Model(make_snapshot(**snapshot), baseline))


# --- a well-run server -------------------------------------------------------------------
# `well_run_model()` is a well-run server (healthy settings of a 16 GB SSD host, archiving
# to a backup tool, a standby connected, no findings expected) that a test changes in the
# one place its rule looks at: the schema, config, maintenance, backup and security rules.

HOST = HostSpec(memory_bytes=16 * GB, cpus=4, storage="ssd")

HEALTHY: dict[str, tuple[str, str | None, str]] = {
    # name: (setting, unit, context) as pg_settings shows them on a well-run 16 GB host
    "shared_preload_libraries": ("pg_stat_statements", None, "postmaster"),
    "session_preload_libraries": ("", None, "superuser"),
    "shared_buffers": ("524288", "8kB", "postmaster"),
    "effective_cache_size": ("1572864", "8kB", "user"),
    "work_mem": ("16384", "kB", "user"),
    "maintenance_work_mem": ("1048576", "kB", "user"),
    "random_page_cost": ("1.1", None, "user"),
    "effective_io_concurrency": ("200", None, "user"),
    "max_connections": ("100", None, "postmaster"),
    "track_io_timing": ("on", None, "superuser"),
    "pg_stat_statements.max": ("10000", None, "postmaster"),
    "pg_stat_statements.track": ("top", None, "superuser"),
    "pg_stat_statements.track_utility": ("on", None, "superuser"),
    "track_activity_query_size": ("4096", "B", "postmaster"),
    "jit": ("on", None, "user"),
    "jit_above_cost": ("100000", None, "user"),
    "log_min_duration_statement": ("1000", "ms", "superuser"),
    "archive_mode": ("on", None, "postmaster"),
    "archive_command": ("pgbackrest --stanza=main archive-push %p", None, "sighup"),
    "archive_library": ("", None, "sighup"),
    "archive_timeout": ("300", "s", "sighup"),
    "wal_level": ("replica", None, "postmaster"),
    "wal_segment_size": ("16777216", "B", "internal"),
    "max_wal_senders": ("10", None, "postmaster"),
    "max_slot_wal_keep_size": ("-1", "MB", "sighup"),
    "fsync": ("on", None, "sighup"),
    "full_page_writes": ("on", None, "sighup"),
    "synchronous_commit": ("on", None, "user"),
    "data_checksums": ("on", None, "internal"),
    "password_encryption": ("scram-sha-256", None, "user"),
    "ssl": ("on", None, "sighup"),
    "listen_addresses": ("*", None, "postmaster"),
    "autovacuum": ("on", None, "sighup"),
    "autovacuum_max_workers": ("3", None, "postmaster"),
    "autovacuum_vacuum_threshold": ("50", None, "sighup"),
    "autovacuum_vacuum_scale_factor": ("0.2", None, "sighup"),
    "autovacuum_analyze_threshold": ("50", None, "sighup"),
    "autovacuum_analyze_scale_factor": ("0.1", None, "sighup"),
    "idle_in_transaction_session_timeout": ("0", "ms", "user"),
    "statement_timeout": ("0", "ms", "user"),
    "search_path": ('"$user", public', None, "user"),
}


def settings(**changes: str | tuple[str, str | None]) -> list[Setting]:
    """The healthy settings with `changes` (a value, or a (value, unit) pair)."""
    values = dict(HEALTHY)
    for name, change in changes.items():
        name = name.replace("__", ".")
        value, unit = change if isinstance(change, tuple) else (change, None)
        old = values.get(name)
        values[name] = (value, unit if unit is not None else (old[1] if old else None),
                        old[2] if old else "user")
    return [Setting(name=n, setting=v, unit=u, vartype="string", context=c,
                    source="configuration file", boot_val=None, reset_val=v,
                    pending_restart=False) for n, (v, u, c) in values.items()]


def make_role(name: str = "app", **fields: Any) -> Role:
    values: dict[str, Any] = {
        "oid": 20_000 + abs(hash(name)) % 10_000, "name": name, "superuser": False,
        "can_login": True, "create_role": False, "create_db": False, "bypass_rls": False,
        "replication": False, "connection_limit": -1, "valid_until": None, "member_of": (),
        "config": (), "password_kind": "scram-sha-256",
    }
    values.update(fields)
    return Role(**values)


def make_hba(line: int, auth: str = "scram-sha-256", type: str = "host",
             address: str | None = "10.0.0.0", **fields: Any) -> HbaRule:
    values: dict[str, Any] = {
        "line_number": line, "type": type, "databases": ("all",), "users": ("all",),
        "address": address if type != "local" else None,
        "netmask": "255.0.0.0" if address and type != "local" else None,
        "auth_method": auth, "error": None,
    }
    values.update(fields)
    return HbaRule(**values)


def make_replica(name: str = "standby1", **fields: Any) -> Replica:
    values: dict[str, Any] = {
        "pid": 777, "usename": "replicator", "application_name": name,
        "client_addr": "10.0.0.2", "state": "streaming", "sync_state": "async",
        "sync_priority": 0, "backend_start_age": 86_400.0, "backend_xmin_age": None,
        "write_lag": 0.001, "flush_lag": 0.002, "replay_lag": 0.003, "sent_lag_bytes": 0,
        "write_lag_bytes": 0, "flush_lag_bytes": 0, "replay_lag_bytes": 1024,
        "reply_age": 0.5,
    }
    values.update(fields)
    return Replica(**values)


def make_slot(name: str = "standby1", **fields: Any) -> ReplicationSlot:
    values: dict[str, Any] = {
        "slot_name": name, "plugin": None, "slot_type": "physical", "database": None,
        "temporary": False, "active": True, "active_pid": 777, "wal_status": "reserved",
        "safe_wal_size": None, "retained_bytes": 16 * 1024**2,
        "confirmed_flush_lag_bytes": None, "xmin_age": None, "catalog_xmin_age": None,
    }
    values.update(fields)
    return ReplicationSlot(**values)


def make_prepared(gid: str = "tx-42", age: float = 3600.0, **fields: Any) -> PreparedXact:
    values: dict[str, Any] = {"gid": gid, "owner": "app", "database": "shop",
                              "prepared_age": age, "xid_age": 5000}
    values.update(fields)
    return PreparedXact(**values)


def make_archiver(**fields: Any) -> ArchiverStats:
    """Archiving that works: a segment archived a minute ago, no failure."""
    values: dict[str, Any] = {
        "archived_count": 1000, "last_archived_wal": "00000001000000000000003F",
        "last_archived_time": NOW - 60, "failed_count": 0, "last_failed_wal": None,
        "last_failed_time": None, "stats_reset": NOW - 30 * 86_400,
    }
    values.update(fields)
    return ArchiverStats(**values)


def make_wal(current_lsn_bytes: int = 0x40 * 16 * 1024**2 + 4096, **fields: Any) -> WalStats:
    values: dict[str, Any] = {
        "wal_records": 1, "wal_fpi": 0, "wal_bytes": 1, "wal_buffers_full": 0,
        "stats_reset": None, "in_recovery": False, "current_lsn_bytes": current_lsn_bytes,
    }
    values.update(fields)
    return WalStats(**values)


def make_database_age(name: str = "shop", xid: int = 10_000_000, mxid: int = 1000,
                      **fields: Any) -> Database:
    values: dict[str, Any] = {"datid": 1, "datname": name, "frozenxid_age": xid,
                              "minmxid_age": mxid, "allow_connections": True,
                              "is_template": False, "connection_limit": -1,
                              "bytes": 10 * GB}
    values.update(fields)
    return Database(**values)


def make_key_range(table: TableStats, column: str = "id", type: str = "integer",
                   max_value: int | None = 1000, **fields: Any) -> KeyRange:
    values: dict[str, Any] = {"relid": table.relid, "schema": table.schema,
                              "table": table.name, "column": column, "type": type,
                              "constraint_type": "p", "max_value": max_value,
                              "fed_by_sequence": False}
    values.update(fields)
    return KeyRange(**values)


def make_namespace(name: str = "public", public_create: bool = False) -> Namespace:
    return Namespace(name=name, owner="pg_database_owner", public_create=public_create,
                     public_usage=True)


def make_rls(table: TableStats, enabled: bool = True) -> RowSecurity:
    return RowSecurity(relid=table.relid, schema=table.schema, table=table.name,
                       enabled=enabled, forced=False, policies=1 if enabled else 0)


def app_backend(pid: int = 5000, usename: str = "app", application_name: str = "shop-api",
                **fields: Any) -> Any:
    """A client session of the application, from another host, over SSL."""
    values: dict[str, Any] = {"usename": usename, "application_name": application_name,
                              "client_addr": "10.0.0.5", "ssl": True, "state": "idle",
                              "xact_start_age": None}
    values.update(fields)
    return dataclasses.replace(make_backend(pid), **values)


def with_database(**fields: Any) -> DatabaseStats:
    return dataclasses.replace(make_database(), **fields)


def well_run_snapshot(*, changes: Mapping[str, Any] | None = None,
                  data: Mapping[str, list[Any]] | None = None,
                  taken_at: float = NOW, **snapshot: Any) -> Snapshot:
    """A well-run server; `changes` alters settings, `data` replaces collectors' rows."""
    rows: dict[str, list[Any]] = {
        "databases": [make_database_age()],
        "roles": [make_role("postgres", oid=10, superuser=True, bypass_rls=True,
                            create_role=True), make_role("app")],
        "hba": [make_hba(1, "peer", type="local"), make_hba(2)],
        "namespaces": [make_namespace()],
        "row_security": [],
        "key_ranges": [],
        "columns": [],
        "replication": [make_replica()],
        "replication_slots": [make_slot()],
        "prepared_xacts": [],
        "archiver": [make_archiver()],
        "wal": [make_wal()],
        "server": [make_server(taken_at, data_checksums=True, block_size=8192,
                               in_recovery=snapshot.get("in_recovery", False))],
    }
    rows.update(data or {})
    snapshot.setdefault("settings", settings(**(changes or {})))
    snapshot.setdefault("activity", [app_backend()])
    snapshot.setdefault("extensions", [make_extension()])
    return make_snapshot(data=rows, taken_at=taken_at, **snapshot)


def well_run_model(host: HostSpec = HOST, baseline: Snapshot | None = None,
               **snapshot: Any) -> Model:
    return estimate_indexes(Model(well_run_snapshot(**snapshot), baseline, host=host))


def codes(model: Model, select: Iterable[str]) -> list[str]:
    """The codes of the findings the selected rules make on `model`."""
    from pgsage.analyzer.engine.advise import advise
    from pgsage.analyzer.engine.config import RulesConfig

    found, notes = advise(model, RulesConfig(select=tuple(select)))
    assert not notes, notes
    return [r.rule for r in found]
