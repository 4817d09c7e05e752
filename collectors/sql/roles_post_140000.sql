-- Roles other than the predefined pg_* ones, with attributes, memberships and a few settings.
-- pg_roles never shows a password; can_read_authid says whether the password kinds can be read.
SELECT r.oid::int8 AS oid, r.rolname::text AS name, r.rolsuper AS superuser,
       r.rolcanlogin AS can_login, r.rolcreaterole AS create_role, r.rolcreatedb AS create_db,
       r.rolbypassrls AS bypass_rls, r.rolreplication AS replication,
       r.rolconnlimit AS connection_limit,
       extract(epoch FROM r.rolvaliduntil)::float8 AS valid_until,
       ARRAY(SELECT g.rolname::text
               FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
              WHERE m.member = r.oid ORDER BY 1) AS member_of,
       ARRAY(SELECT DISTINCT ON (split_part(c.entry, '=', 1)) c.entry
               FROM pg_db_role_setting s
              CROSS JOIN LATERAL unnest(s.setconfig) AS c(entry)
              WHERE s.setrole = r.oid
                AND s.setdatabase IN (0, (SELECT oid FROM pg_database
                                           WHERE datname = current_database()))
                AND split_part(c.entry, '=', 1) = ANY(%(settings)s)
              ORDER BY split_part(c.entry, '=', 1), s.setdatabase DESC) AS config,
       has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS can_read_authid
  FROM pg_roles r
 WHERE r.rolname !~ '^pg_'
 ORDER BY r.rolname
