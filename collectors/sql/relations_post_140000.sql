-- Every relation's name in the user schemas (they share one namespace), and the definition
-- of each view and materialized view.
SELECT c.oid::int8 AS relid, n.nspname::text AS schema, c.relname::text AS name,
       c.relkind::text AS relkind,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
 ORDER BY n.nspname, c.relname
