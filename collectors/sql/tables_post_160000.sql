-- User tables, partitioned parents and materialized views with their activity counters.
-- pg_table_size covers main, FSM, VM and TOAST; index sizes come from the indexes collector.
WITH locked AS (
  -- Relations another session holds or awaits ACCESS EXCLUSIVE on (pid 0: a prepared
  -- transaction): what opens them (sizes, pg_get_expr, pg_get_indexdef) would wait for the
  -- lock and fail the whole statement on lock_timeout, so those columns stay NULL for them.
  SELECT l.relation, coalesce(min(l.pid), 0) AS pid
    FROM pg_locks l
   WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.pid IS DISTINCT FROM pg_backend_pid()
   GROUP BY l.relation)
SELECT c.oid::int8 AS relid, n.nspname::text AS schema, c.relname::text AS name,
       c.relkind::text AS relkind, c.relpersistence::text AS persistence,
       c.reltuples::float8 AS reltuples, c.relpages::int8 AS relpages,
       CASE WHEN c.relkind <> 'p' AND lk.pid IS NULL THEN pg_table_size(c.oid) END::int8
         AS table_bytes,
       CASE WHEN c.reltoastrelid <> 0 AND lk.pid IS NULL
            THEN pg_relation_size(c.reltoastrelid) END::int8
         AS toast_bytes,
       lk.pid AS locked_by, c.relispartition AS is_partition,
       (SELECT i.inhparent::int8 FROM pg_inherits i WHERE i.inhrelid = c.oid LIMIT 1)
         AS parent_relid,
       pt.partstrat::text AS partition_strategy,
       CASE WHEN pt.partrelid IS NOT NULL THEN pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN c.relispartition AND lk.pid IS NULL
            THEN pg_get_expr(c.relpartbound, c.oid) END
         AS partition_bound,
       c.reloptions::text[] AS reloptions,
       CASE WHEN c.relkind IN ('r', 'm') THEN age(c.relfrozenxid) END::int8 AS frozenxid_age,
       CASE WHEN c.relkind IN ('r', 'm') THEN mxid_age(c.relminmxid) END::int8 AS minmxid_age,
       s.seq_scan, s.seq_tup_read, s.idx_scan, s.idx_tup_fetch,
       s.n_tup_ins, s.n_tup_upd, s.n_tup_del, s.n_tup_hot_upd, s.n_live_tup, s.n_dead_tup,
       s.n_mod_since_analyze, s.n_ins_since_vacuum,
       extract(epoch FROM s.last_vacuum)::float8 AS last_vacuum,
       extract(epoch FROM s.last_autovacuum)::float8 AS last_autovacuum,
       extract(epoch FROM s.last_analyze)::float8 AS last_analyze,
       extract(epoch FROM s.last_autoanalyze)::float8 AS last_autoanalyze,
       s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count,
       extract(epoch FROM s.last_seq_scan)::float8 AS last_seq_scan,
       extract(epoch FROM s.last_idx_scan)::float8 AS last_idx_scan,
       s.n_tup_newpage_upd
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
  LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
  LEFT JOIN LATERAL (SELECT min(k.pid) AS pid FROM locked k
                     WHERE k.relation IN (c.oid, c.reltoastrelid)) lk ON true
 WHERE c.relkind IN ('r', 'p', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
