-- Every backend but our own. The query column is never read: it can hold secrets.
-- Ages use clock_timestamp(), read after the activity snapshot, so they are never negative
-- (now() is the statement's start, and a backend may change state after it).
SELECT a.pid, a.leader_pid, a.datname::text AS datname, a.usename::text AS usename,
       r.rolsuper AS is_superuser, a.application_name,
       host(a.client_addr) AS client_addr, a.backend_type, a.state,
       a.wait_event_type, a.wait_event,
       extract(epoch FROM clock_timestamp() - a.backend_start)::float8 AS backend_start_age,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS xact_start_age,
       extract(epoch FROM clock_timestamp() - a.query_start)::float8 AS query_start_age,
       extract(epoch FROM clock_timestamp() - a.state_change)::float8 AS state_change_age,
       age(a.backend_xid)::int8 AS backend_xid_age,
       age(a.backend_xmin)::int8 AS backend_xmin_age,
       a.query_id, ssl.ssl
  FROM pg_stat_activity a
  LEFT JOIN pg_stat_ssl ssl ON ssl.pid = a.pid
  LEFT JOIN pg_roles r ON r.oid = a.usesysid
 WHERE a.pid <> pg_backend_pid()
 ORDER BY a.pid
