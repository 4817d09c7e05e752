-- Texts of the given queryids only: reading the text file is the costly part of the view.
SELECT queryid, query
  FROM %(schema)s.pg_stat_statements(true)
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND queryid = ANY(%(queryids)s)
