-- Authentication rules in file order; `error` marks a line the server could not parse.
SELECT line_number, type, database::text[] AS databases, user_name::text[] AS users,
       address, netmask, auth_method, error
  FROM pg_hba_file_rules
 ORDER BY line_number
