-- Every index of a user table with its definition, the constraints it backs and its scans.
-- Key column numbers and operator class oids come as arrays; the collector names them from
-- pg_attribute and pg_opclass read once each (set-based, not one subquery per index).
-- Run per batch of index oids (the oids parameter), so that no statement nears statement_timeout
-- on a big catalog: pg_get_indexdef and pg_relation_size open every index.
SELECT i.indexrelid::int8 AS indexrelid, i.indrelid::int8 AS relid,
       n.nspname::text AS schema, t.relname::text AS "table", c.relname::text AS name,
       am.amname::text AS method, pg_get_indexdef(i.indexrelid) AS definition,
       i.indkey::int2[]::int[] AS keys,
       i.indnkeyatts::int AS key_count,
       i.indclass::oid[]::int8[] AS opclass_oids,
       i.indoption::int2[]::int[] AS options,
       pg_get_expr(i.indexprs, i.indrelid) AS expressions,
       pg_get_expr(i.indpred, i.indrelid) AS predicate,
       i.indisunique AS is_unique, i.indisprimary AS is_primary,
       i.indisexclusion AS is_exclusion, i.indisvalid AS is_valid, i.indisready AS is_ready,
       i.indisreplident AS is_replica_identity,
       con.conname::text AS constraint_name, con.contype::text AS constraint_type,
       fk.conindid IS NOT NULL AS referenced_by_fk,
       pg_relation_size(i.indexrelid)::int8 AS bytes,
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
 WHERE i.indexrelid::int8 = ANY (%(oids)s::int8[])
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
