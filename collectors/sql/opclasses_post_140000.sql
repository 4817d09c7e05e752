-- Operator class names by oid (a few hundred rows).
SELECT oc.oid::int8 AS oid, oc.opcname::text AS name FROM pg_opclass oc
