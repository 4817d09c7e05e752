-- This database's cumulative counters (times in milliseconds).
SELECT d.datid::int8 AS datid, d.datname::text AS datname, d.numbackends::int8 AS numbackends,
       d.xact_commit, d.xact_rollback, d.blks_read, d.blks_hit,
       d.tup_returned, d.tup_fetched, d.tup_inserted, d.tup_updated, d.tup_deleted,
       d.conflicts, d.temp_files, d.temp_bytes, d.deadlocks, d.checksum_failures,
       extract(epoch FROM d.checksum_last_failure)::float8 AS checksum_last_failure,
       d.blk_read_time, d.blk_write_time,
       d.session_time, d.active_time, d.idle_in_transaction_time,
       d.sessions, d.sessions_abandoned, d.sessions_fatal, d.sessions_killed,
       extract(epoch FROM d.stats_reset)::float8 AS stats_reset,
       -- Whether database_created may run (a function's privilege is checked when a query
       -- starts, even in a CASE branch that never runs, so the file is read on its own).
       has_function_privilege('pg_catalog.pg_stat_file(text, boolean)', 'EXECUTE')
           AS files_readable
  FROM pg_stat_database d
 WHERE d.datname = current_database()
