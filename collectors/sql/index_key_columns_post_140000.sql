-- Names of the columns user indexes key on, to name indkey entries without a subquery per index.
SELECT a.attrelid::int8 AS relid, a.attnum::int AS attnum, a.attname::text AS name
  FROM pg_attribute a
 WHERE a.attnum > 0
   AND a.attrelid IN (SELECT i.indrelid FROM pg_index i
                        JOIN pg_class t ON t.oid = i.indrelid
                        JOIN pg_namespace n ON n.oid = t.relnamespace
                       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                         AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_')
