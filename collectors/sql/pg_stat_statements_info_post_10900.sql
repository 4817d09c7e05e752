-- Evictions (dealloc) and the last pg_stat_statements_reset().
SELECT dealloc, extract(epoch FROM stats_reset)::float8 AS stats_reset
  FROM %(schema)s.pg_stat_statements_info
