-- WAL archiver progress and failures (archive_mode itself comes from the settings collector).
SELECT archived_count, last_archived_wal,
       extract(epoch FROM last_archived_time)::float8 AS last_archived_time,
       failed_count, last_failed_wal,
       extract(epoch FROM last_failed_time)::float8 AS last_failed_time,
       extract(epoch FROM stats_reset)::float8 AS stats_reset
  FROM pg_stat_archiver
