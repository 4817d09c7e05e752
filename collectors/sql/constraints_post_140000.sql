-- Keys, foreign keys and exclusion constraints of user tables (check constraints are not read).
SELECT con.oid::int8 AS oid, con.conname::text AS name, con.contype::text AS type,
       con.conrelid::int8 AS relid, n.nspname::text AS schema, t.relname::text AS "table",
       ARRAY(SELECT a.attname::text
               FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
              ORDER BY k.ord) AS columns,
       NULLIF(con.confrelid, 0)::int8 AS ref_relid,
       rn.nspname::text AS ref_schema, rt.relname::text AS ref_table,
       CASE WHEN con.contype = 'f' THEN
         ARRAY(SELECT a.attname::text
                 FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                ORDER BY k.ord) END AS ref_columns,
       NULLIF(con.confupdtype, ' ')::text AS on_update,
       NULLIF(con.confdeltype, ' ')::text AS on_delete,
       con.condeferrable AS deferrable, con.convalidated AS validated
  FROM pg_constraint con
  JOIN pg_class t ON t.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  LEFT JOIN pg_class rt ON rt.oid = con.confrelid
  LEFT JOIN pg_namespace rn ON rn.oid = rt.relnamespace
 WHERE con.contype IN ('p', 'u', 'f', 'x')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
