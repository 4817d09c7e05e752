-- Every index of a user table with its definition, the constraints it backs and its scans.
SELECT i.indexrelid::int8 AS indexrelid, i.indrelid::int8 AS relid,
       n.nspname::text AS schema, t.relname::text AS "table", c.relname::text AS name,
       am.amname::text AS method, pg_get_indexdef(i.indexrelid) AS definition,
       ARRAY(SELECT a.attname::text
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                                       AND k.attnum > 0
              ORDER BY k.ord) AS columns,
       i.indnkeyatts::int AS key_count,
       ARRAY(SELECT oc.opcname::text
               FROM unnest(i.indclass::oid[]) WITH ORDINALITY AS o(oid, ord)
               JOIN pg_opclass oc ON oc.oid = o.oid
              ORDER BY o.ord) AS opclasses,
       i.indoption::int2[]::int[] AS options,
       pg_get_expr(i.indexprs, i.indrelid) AS expressions,
       pg_get_expr(i.indpred, i.indrelid) AS predicate,
       i.indisunique AS is_unique, i.indisprimary AS is_primary,
       i.indisexclusion AS is_exclusion, i.indisvalid AS is_valid, i.indisready AS is_ready,
       i.indisreplident AS is_replica_identity,
       con.conname::text AS constraint_name, con.contype::text AS constraint_type,
       EXISTS (SELECT 1 FROM pg_constraint f
                WHERE f.contype = 'f' AND f.conindid = i.indexrelid) AS referenced_by_fk,
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
  LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
