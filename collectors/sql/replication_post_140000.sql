-- Standbys (and pg_basebackup / pg_receivewal) connected to this server.
-- Byte lags are measured from our own position: the current WAL LSN on a primary, the
-- received LSN on a cascading standby. LSN columns need pg_read_all_stats (pg_monitor).
SELECT r.pid, r.usename::text AS usename, r.application_name,
       host(r.client_addr) AS client_addr, r.state, r.sync_state, r.sync_priority,
       extract(epoch FROM clock_timestamp() - r.backend_start)::float8 AS backend_start_age,
       age(r.backend_xmin)::int8 AS backend_xmin_age,
       extract(epoch FROM r.write_lag)::float8 AS write_lag,
       extract(epoch FROM r.flush_lag)::float8 AS flush_lag,
       extract(epoch FROM r.replay_lag)::float8 AS replay_lag,
       pg_wal_lsn_diff(pos.lsn, r.sent_lsn)::int8 AS sent_lag_bytes,
       pg_wal_lsn_diff(pos.lsn, r.write_lsn)::int8 AS write_lag_bytes,
       pg_wal_lsn_diff(pos.lsn, r.flush_lsn)::int8 AS flush_lag_bytes,
       pg_wal_lsn_diff(pos.lsn, r.replay_lsn)::int8 AS replay_lag_bytes,
       extract(epoch FROM clock_timestamp() - r.reply_time)::float8 AS reply_age
  FROM pg_stat_replication r
 CROSS JOIN (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                         ELSE pg_current_wal_lsn() END AS lsn) pos
 ORDER BY r.pid
