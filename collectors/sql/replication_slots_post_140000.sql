-- Replication slots with the WAL they retain and the xmin horizons they hold back.
SELECT s.slot_name::text AS slot_name, s.plugin::text AS plugin, s.slot_type,
       s.database::text AS database, s.temporary, s.active, s.active_pid,
       s.wal_status, s.safe_wal_size,
       pg_wal_lsn_diff(pos.lsn, s.restart_lsn)::int8 AS retained_bytes,
       pg_wal_lsn_diff(pos.lsn, s.confirmed_flush_lsn)::int8 AS confirmed_flush_lag_bytes,
       age(s.xmin)::int8 AS xmin_age, age(s.catalog_xmin)::int8 AS catalog_xmin_age,
       s.two_phase
  FROM pg_replication_slots s
 CROSS JOIN (SELECT CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_lsn() END AS lsn) pos
 ORDER BY s.slot_name
