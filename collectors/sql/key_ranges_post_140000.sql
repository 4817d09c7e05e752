-- Single-column integer keys with the largest value pg_stats saw (histogram and MCVs).
-- anyarray columns cast through text; the casts are safe because the type is checked first.
SELECT c.oid::int8 AS relid, n.nspname::text AS schema, c.relname::text AS "table",
       a.attname::text AS "column", format_type(a.atttypid, NULL) AS type,
       CASE WHEN bool_or(con.contype = 'p') THEN 'p' WHEN bool_or(con.contype = 'u') THEN 'u'
            ELSE 'f' END AS constraint_type,
       (SELECT max(v)
          FROM pg_stats s
         CROSS JOIN LATERAL unnest(COALESCE(s.histogram_bounds::text::int8[], '{}')
                                   || COALESCE(s.most_common_vals::text::int8[], '{}')) AS v
         WHERE s.schemaname = n.nspname AND s.tablename = c.relname
           AND s.attname = a.attname) AS max_value,
       (a.attidentity <> '' OR EXISTS (
          SELECT 1 FROM pg_depend d
           WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
             AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass
             AND d.deptype IN ('a', 'i'))) AS fed_by_sequence
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = con.conkey[1]
 WHERE con.contype IN ('p', 'u', 'f')
   AND cardinality(con.conkey) = 1
   AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
   AND c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
 GROUP BY c.oid, n.nspname, c.relname, a.attname, a.atttypid, a.attidentity, a.attnum
 ORDER BY n.nspname, c.relname, a.attname
