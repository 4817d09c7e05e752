-- Every database of the cluster: wraparound ages (cluster-wide risk) and size.
-- pg_database_size needs CONNECT or pg_read_all_stats; an invalid database (connlimit -2)
-- is half dropped and not measured.
SELECT d.oid::int8 AS datid, d.datname::text AS datname,
       age(d.datfrozenxid)::int8 AS frozenxid_age,
       mxid_age(d.datminmxid)::int8 AS minmxid_age,
       d.datallowconn AS allow_connections, d.datistemplate AS is_template,
       d.datconnlimit AS connection_limit,
       CASE WHEN d.datconnlimit <> -2
             AND (has_database_privilege(d.oid, 'CONNECT')
                  OR pg_has_role('pg_read_all_stats', 'USAGE'))
            THEN pg_database_size(d.oid) END::int8 AS bytes
  FROM pg_database d
 ORDER BY d.datname
