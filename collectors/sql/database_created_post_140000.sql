-- When this database was created: its PG_VERSION file's time (whole seconds). Counters that
-- were never reset start there if that is after the server's start. Null for a database in
-- another tablespace. Runs only where pg_stat_file is granted (pg_read_server_files).
SELECT extract(epoch FROM (pg_stat_file('base/' || d.oid || '/PG_VERSION', true))
                          .modification)::float8 AS created_at
  FROM pg_database d
 WHERE d.datname = current_database()
