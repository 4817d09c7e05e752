-- Columns of user tables, partitioned parents and materialized views, with pg_stats.
-- most_common_vals is an anyarray: its text form parses back as text[] whatever the column
-- type (array-typed columns give one quoted element per array value). First 20 values only.
SELECT c.oid::int8 AS relid, n.nspname::text AS schema, c.relname::text AS "table",
       a.attname::text AS name, a.attnum::int AS attnum,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null, a.atthasdef AS has_default,
       NULLIF(a.attidentity, '')::text AS identity,
       NULLIF(a.attgenerated, '')::text AS generated,
       s.inherited, s.null_frac::float8 AS null_frac, s.avg_width::int AS avg_width,
       s.n_distinct::float8 AS n_distinct, s.correlation::float8 AS correlation,
       (s.most_common_vals::text::text[])[1:20] AS most_common_vals,
       (s.most_common_freqs[1:20])::float8[] AS most_common_freqs
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
                      AND s.attname = a.attname
 WHERE c.relkind IN ('r', 'p', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
 ORDER BY c.oid, a.attnum, s.inherited
