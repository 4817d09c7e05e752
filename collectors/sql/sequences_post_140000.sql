-- Sequences with the column that owns them (serial: deptype 'a', identity: deptype 'i').
SELECT s.schemaname::text AS schema, s.sequencename::text AS name,
       format_type(seq.seqtypid, NULL) AS data_type,
       s.increment_by, s.min_value, s.max_value, s.cycle, s.last_value,
       has_sequence_privilege(c.oid, 'SELECT,USAGE') AS readable,
       tn.nspname::text AS owner_schema, t.relname::text AS owner_table,
       a.attname::text AS owner_column,
       format_type(a.atttypid, a.atttypmod) AS owner_column_type
  FROM pg_sequences s
  JOIN pg_namespace n ON n.nspname = s.schemaname
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename
  JOIN pg_sequence seq ON seq.seqrelid = c.oid
  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  LEFT JOIN pg_class t ON t.oid = d.refobjid
  LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
