"""Records for the architecture rules (schema, config, maintenance, backup, security).

Builds on tests/factories.py: `arch_model()` is a well-run server (healthy settings of a
16 GB SSD host, archiving to a backup tool, a standby connected, no findings expected) that a
test changes in the one place its rule looks at.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from factories import NOW, make_backend, make_extension, make_server, make_snapshot

from pgsage.analyzer.engine.pipeline import estimate_indexes
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.host import HostSpec
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.units import GB
from pgsage.collectors.archiver import ArchiverStats
from pgsage.collectors.columns import Column
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.databases import Database
from pgsage.collectors.hba import HbaRule
from pgsage.collectors.key_ranges import KeyRange
from pgsage.collectors.namespaces import Namespace
from pgsage.collectors.prepared_xacts import PreparedXact
from pgsage.collectors.replication import Replica
from pgsage.collectors.replication_slots import ReplicationSlot
from pgsage.collectors.roles import Role
from pgsage.collectors.row_security import RowSecurity
from pgsage.collectors.settings import Setting
from pgsage.collectors.tables import TableStats
from pgsage.collectors.wal import WalStats

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


def make_column(table: TableStats, name: str, type: str = "bigint", attnum: int = 1,
                **fields: Any) -> Column:
    """A NOT NULL column with statistics (8 bytes wide, no nulls, uncorrelated)."""
    values: dict[str, Any] = {
        "relid": table.relid, "schema": table.schema, "table": table.name, "name": name,
        "attnum": attnum, "type": type, "not_null": True, "has_default": False,
        "identity": None, "generated": None, "inherited": False, "null_frac": 0.0,
        "avg_width": 8, "n_distinct": -1.0, "correlation": 0.0,
        "most_common_vals": None, "most_common_freqs": None,
    }
    values.update(fields)
    return Column(**values)


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
    from factories import make_database

    return dataclasses.replace(make_database(), **fields)


def arch_snapshot(*, changes: Mapping[str, Any] | None = None,
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


def arch_model(host: HostSpec = HOST, baseline: Snapshot | None = None,
               **snapshot: Any) -> Model:
    return estimate_indexes(Model(arch_snapshot(**snapshot), baseline, host=host))


def codes(model: Model, select: Iterable[str]) -> list[str]:
    """The codes of the findings the selected rules make on `model`."""
    from pgsage.analyzer.engine.advise import advise
    from pgsage.analyzer.engine.config import RulesConfig

    found, notes = advise(model, RulesConfig(select=tuple(select)))
    assert not notes, notes
    return [r.rule for r in found]
