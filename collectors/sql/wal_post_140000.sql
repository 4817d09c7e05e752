-- WAL counters common to 14-18 and the WAL position as bytes since 0/0.
-- pg_current_wal_lsn() raises on a standby, hence the CASE (evaluated lazily).
SELECT w.wal_records, w.wal_fpi, w.wal_bytes::int8 AS wal_bytes, w.wal_buffers_full,
       extract(epoch FROM w.stats_reset)::float8 AS stats_reset,
       pg_is_in_recovery() AS in_recovery,
       CASE WHEN NOT pg_is_in_recovery()
            THEN pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') END::int8 AS current_lsn_bytes,
       CASE WHEN pg_is_in_recovery()
            THEN pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0') END::int8 AS replay_lsn_bytes
  FROM pg_stat_wal w
