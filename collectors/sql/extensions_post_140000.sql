-- Installed extensions, plus the ones pgsage can use that are merely available on disk.
SELECT e.extname AS name, e.extversion AS installed_version, a.default_version,
       n.nspname AS schema, a.name IS NOT NULL AS available
  FROM pg_extension e
  JOIN pg_namespace n ON n.oid = e.extnamespace
  LEFT JOIN pg_available_extensions a ON a.name = e.extname
UNION ALL
SELECT a.name, NULL, a.default_version, NULL, true
  FROM pg_available_extensions a
 WHERE a.installed_version IS NULL
   AND a.name IN ('pg_stat_statements', 'hypopg', 'pg_trgm', 'pg_qualstats', 'pg_partman',
                  'pg_repack', 'pgstattuple', 'btree_gin', 'btree_gist', 'auto_explain')
 ORDER BY 1
