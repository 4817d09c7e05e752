-- Prepared (two-phase) transactions: each holds locks and the xmin horizon until resolved.
SELECT p.gid, p.owner::text AS owner, p.database::text AS database,
       extract(epoch FROM clock_timestamp() - p.prepared)::float8 AS prepared_age,
       age(p.transaction)::int8 AS xid_age
  FROM pg_prepared_xacts p
 ORDER BY p.prepared
