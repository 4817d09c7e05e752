-- 18 adds num_done (checkpoints performed, skipped ones excluded) and slru_written.
SELECT c.num_timed AS checkpoints_timed, c.num_requested AS checkpoints_req,
       c.num_done AS checkpoints_done,
       c.write_time AS checkpoint_write_time, c.sync_time AS checkpoint_sync_time,
       c.buffers_written AS buffers_checkpoint, c.slru_written,
       b.buffers_clean, b.maxwritten_clean, b.buffers_alloc,
       extract(epoch FROM b.stats_reset)::float8 AS stats_reset,
       c.restartpoints_timed, c.restartpoints_req, c.restartpoints_done,
       extract(epoch FROM c.stats_reset)::float8 AS checkpointer_stats_reset
  FROM pg_stat_checkpointer c
 CROSS JOIN pg_stat_bgwriter b
