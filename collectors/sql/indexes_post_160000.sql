-- Every index of a user table with its definition, the constraints it backs and its scans.
-- Key column numbers and operator class oids come as arrays; the collector names them from
-- pg_attribute and pg_opclass read once each (set-based, not one subquery per index).
-- Run per batch of index oids (the oids parameter), so that no statement nears statement_timeout
-- on a big catalog: pg_get_indexdef and pg_relation_size open every index.
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
SELECT i.indexrelid::int8 AS indexrelid, i.indrelid::int8 AS relid,
       n.nspname::text AS schema, t.relname::text AS "table", c.relname::text AS name,
       am.amname::text AS method,
       CASE WHEN lk.pid IS NULL THEN pg_get_indexdef(i.indexrelid) END AS definition,
       i.indkey::int2[]::int[] AS keys,
       i.indnkeyatts::int AS key_count,
       i.indclass::oid[]::int8[] AS opclass_oids,
       i.indoption::int2[]::int[] AS options,
       CASE WHEN lk.pid IS NULL THEN pg_get_expr(i.indexprs, i.indrelid) END
         AS expressions,
       CASE WHEN lk.pid IS NULL THEN pg_get_expr(i.indpred, i.indrelid) END
         AS predicate,
       i.indisunique AS is_unique, i.indisprimary AS is_primary,
       i.indisexclusion AS is_exclusion, i.indisvalid AS is_valid, i.indisready AS is_ready,
       i.indisreplident AS is_replica_identity,
       con.conname::text AS constraint_name, con.contype::text AS constraint_type,
       fk.conindid IS NOT NULL AS referenced_by_fk,
       CASE WHEN lk.pid IS NULL THEN pg_relation_size(i.indexrelid) END::int8 AS bytes,
       lk.pid AS locked_by,
       s.idx_scan, s.idx_tup_read, s.idx_tup_fetch,
       extract(epoch FROM s.last_idx_scan)::float8 AS last_idx_scan
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_am am ON am.oid = c.relam
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid
                             AND con.conrelid = i.indrelid
                             AND con.contype IN ('p', 'u', 'x')
  LEFT JOIN (SELECT DISTINCT f.conindid FROM pg_constraint f WHERE f.contype = 'f') fk
         ON fk.conindid = i.indexrelid
  LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
  LEFT JOIN LATERAL (SELECT min(k.pid) AS pid FROM locked k
                     WHERE k.relation IN (i.indexrelid, i.indrelid)) lk ON true
 WHERE i.indexrelid::int8 = ANY (%(oids)s::int8[])
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
