-- How each role's password is stored: only the kind, never the hash (superusers only).
SELECT a.oid::int8 AS oid,
       CASE WHEN a.rolpassword IS NULL THEN 'none'
            WHEN a.rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256'
            WHEN a.rolpassword ~ '^md5[0-9a-f]{32}$' THEN 'md5'
            ELSE 'other' END AS password_kind
  FROM pg_authid a
 WHERE a.rolname !~ '^pg_'
