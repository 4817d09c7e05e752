-- Checkpointer and background writer counters, all in pg_stat_bgwriter before 17.
SELECT checkpoints_timed, checkpoints_req, checkpoint_write_time, checkpoint_sync_time,
       buffers_checkpoint, buffers_clean, maxwritten_clean, buffers_backend,
       buffers_backend_fsync, buffers_alloc,
       extract(epoch FROM stats_reset)::float8 AS stats_reset
  FROM pg_stat_bgwriter
