"""Records and snapshots for unit tests, with sensible defaults: no database needed.

Every factory takes the fields a test cares about as keyword arguments and fills the rest
with what a quiet, healthy table or index would show, so a test states one behaviour.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from typing import Any

from pgsage.analyzer.engine.pipeline import estimate_indexes
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.snapshot import CollectorStatus, Snapshot, Target
from pgsage.analyzer.sqlgen import ident
from pgsage.collectors.activity import Backend
from pgsage.collectors.columns import Column
from pgsage.collectors.constraints import Constraint
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.extensions import Extension
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.plans import StatementPlan
from pgsage.collectors.sequences import Sequence
from pgsage.collectors.server import Server
from pgsage.collectors.settings import Setting
from pgsage.collectors.statements import StatementStats
from pgsage.collectors.tables import TableStats

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
