-- pg_stat_statements 1.12: counters only (texts are read separately, for new queryids).
-- blk_read_time/blk_write_time (before 1.11) are reported as shared_blk_*_time.
SELECT s.userid::int8 AS userid, r.rolname::text AS username, s.dbid::int8 AS dbid,
       s.toplevel, s.queryid,
       s.plans, s.total_plan_time, s.min_plan_time, s.max_plan_time, s.mean_plan_time,
       s.stddev_plan_time,
       s.calls, s.total_exec_time, s.min_exec_time, s.max_exec_time, s.mean_exec_time,
       s.stddev_exec_time, s.rows,
       s.shared_blks_hit, s.shared_blks_read, s.shared_blks_dirtied, s.shared_blks_written,
       s.local_blks_hit, s.local_blks_read, s.local_blks_dirtied, s.local_blks_written,
       s.temp_blks_read, s.temp_blks_written,
       s.shared_blk_read_time, s.shared_blk_write_time,
       s.local_blk_read_time, s.local_blk_write_time,
       s.temp_blk_read_time, s.temp_blk_write_time,
       s.jit_functions, s.jit_generation_time, s.jit_inlining_count, s.jit_inlining_time,
       s.jit_optimization_count, s.jit_optimization_time, s.jit_emission_count,
       s.jit_emission_time,
       s.jit_deform_count, s.jit_deform_time,
       extract(epoch FROM s.stats_since)::float8 AS stats_since,
       extract(epoch FROM s.minmax_stats_since)::float8 AS minmax_stats_since,
       s.wal_records, s.wal_fpi, s.wal_bytes::float8 AS wal_bytes,
       s.wal_buffers_full, s.parallel_workers_to_launch, s.parallel_workers_launched
  FROM %(schema)s.pg_stat_statements(false) s
  LEFT JOIN pg_roles r ON r.oid = s.userid
 WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND s.queryid IS NOT NULL
