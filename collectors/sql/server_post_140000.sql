-- Identity of the server and of pgsage's own session.
SELECT current_setting('server_version_num')::int      AS server_version_num,
       version()                                       AS version,
       current_database()                              AS database,
       pg_is_in_recovery()                             AS in_recovery,
       extract(epoch FROM pg_postmaster_start_time())::float8 AS started_at,
       extract(epoch FROM clock_timestamp())::float8   AS collected_at,
       CASE WHEN has_database_privilege(current_database(), 'CONNECT')
            THEN pg_database_size(current_database()) END::int8 AS database_bytes,
       current_user::text                              AS current_user,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
       pg_has_role(current_user, 'pg_monitor', 'USAGE') AS has_pg_monitor,
       current_setting('data_checksums')::bool         AS data_checksums,
       current_setting('block_size')::int              AS block_size
