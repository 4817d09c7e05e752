-- Whether this role may read pg_hba_file_rules (superusers, or after two GRANTs).
SELECT has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT')
       AND has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE') AS readable
