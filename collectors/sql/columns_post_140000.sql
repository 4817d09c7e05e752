-- Columns of user tables, partitioned parents and materialized views, with pg_stats (and a
-- generated column's expression: the index advisor reads a text search configuration there).
-- most_common_vals is an anyarray: its text form parses back as text[] whatever the column
-- type (array-typed columns give one quoted element per array value). It is read only where
-- it can list every value of the column: at most 20 distinct values (a positive n_distinct,
-- or a negative one times reltuples), which is all a rule uses it for (LIST partitions).
-- Run per batch of table oids (the relids parameter) so that no statement nears statement_timeout; pg_stats
-- is looked up per column (LATERAL ... OFFSET 0: index lookups, not a hash join that would
-- scan, and check privileges on, every attribute of the database once per batch).
SELECT c.oid::int8 AS relid, n.nspname::text AS schema, c.relname::text AS "table",
       a.attname::text AS name, a.attnum::int AS attnum,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null, a.atthasdef AS has_default,
       NULLIF(a.attidentity, '')::text AS identity,
       NULLIF(a.attgenerated, '')::text AS generated,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END
         AS generation_expression,
       s.inherited, s.null_frac, s.avg_width, s.n_distinct, s.correlation,
       s.most_common_vals, s.most_common_freqs
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN LATERAL (
    SELECT st.inherited, st.null_frac::float8 AS null_frac, st.avg_width::int AS avg_width,
           st.n_distinct::float8 AS n_distinct, st.correlation::float8 AS correlation,
           CASE WHEN st.n_distinct BETWEEN 0 AND 20
                  OR (st.n_distinct < 0 AND -st.n_distinct * c.reltuples <= 20)
                THEN (st.most_common_vals::text::text[])[1:20] END AS most_common_vals,
           CASE WHEN st.n_distinct BETWEEN 0 AND 20
                  OR (st.n_distinct < 0 AND -st.n_distinct * c.reltuples <= 20)
                THEN (st.most_common_freqs[1:20])::float8[] END AS most_common_freqs
      FROM pg_stats st
     WHERE st.schemaname = n.nspname AND st.tablename = c.relname AND st.attname = a.attname
    OFFSET 0) s ON true
 WHERE c.oid::int8 = ANY (%(relids)s::int8[])
   AND c.relkind IN ('r', 'p', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND n.nspname !~ '^pg_temp_'
 ORDER BY c.oid, a.attnum, s.inherited
