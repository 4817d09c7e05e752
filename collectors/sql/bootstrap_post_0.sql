-- What every collection learns first, on any server version (older ones are then refused):
-- the version, the extensions of this database, shared_preload_libraries (NULL without
-- pg_read_all_settings) and the postmaster start time, which tells a restart apart.
SELECT current_setting('server_version_num')::int AS server_version_num,
       current_setting('server_version') AS server_version,
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
       current_database() AS database,
       inet_server_port() AS port,
       COALESCE((SELECT json_object_agg(e.extname, json_build_array(e.extversion, n.nspname))
                   FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace),
                '{}'::json)::text AS extensions,
       extract(epoch FROM pg_postmaster_start_time())::float8 AS started_at
