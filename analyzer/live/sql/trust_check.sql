-- pgsage plan-time trust and privilege check (PostgreSQL 14+), one query per statement.
--
-- Parameters (psycopg named placeholders; no percent sign may appear in comments):
--   names              jsonb  trust.collect_names(tree): functions, operators, types,
--                               relations, attributes, ctes, dml
--   trusted_roles      text[] roles trusted like superusers (owners of trusted code)
--   trusted_schemas    text[] schemas whose functions are all trusted
--   trusted_functions  text[] 'schema.name' of functions trusted whatever their owner
--
-- Returns one row per problem; no row means the statement may be planned:
--   verb      'calls' | 'reads' | 'unresolved' | 'lacks privilege'
--   object    schema-qualified object (functions with identity arguments)
--   reason    why it is not trusted / would fail
--   via       how the statement reaches it (name in the text, view, policy, index, ...)
--
-- It never raises: names come in as jsonb and are compared as text, no regclass/regproc
-- input casts of user-supplied names. Runs in a READ ONLY transaction.
WITH RECURSIVE
input AS (SELECT %(names)s::jsonb AS j),
opts AS (
  SELECT coalesce(%(trusted_roles)s::text[], '{}') AS roles,
         coalesce(%(trusted_schemas)s::text[], '{}') AS schemas,
         coalesce(%(trusted_functions)s::text[], '{}') AS funcs),
-- the effective search path, implicit pg_catalog (and pg_temp if any) included, in order;
-- schemas without USAGE are already left out by the server
path AS (
  SELECT n.oid AS nsp, s.pos
  FROM unnest(current_schemas(true)) WITH ORDINALITY AS s(name, pos)
  JOIN pg_namespace n ON n.nspname = s.name),
trusted_role0 AS (
  SELECT r.oid FROM pg_roles r, opts WHERE r.rolsuper OR r.rolname = ANY (opts.roles)),
-- pg_database_owner (owner of public from 15) stands for the database owner
trusted_role AS (
  SELECT oid FROM trusted_role0
  UNION ALL
  SELECT r.oid FROM pg_roles r JOIN pg_database d ON d.datname = current_database()
  WHERE r.rolname = 'pg_database_owner' AND d.datdba IN (SELECT oid FROM trusted_role0)),
-- a schema is trusted when a trusted role owns it and no one else may CREATE in it (the
-- schema owner may drop and recreate any object in it; CREATE lets others add overloads)
trusted_nsp AS (
  SELECT n.oid FROM pg_namespace n, opts
  WHERE n.nspname IN ('pg_catalog', 'information_schema') OR n.nspname = ANY (opts.schemas)
     OR (n.nspowner IN (SELECT oid FROM trusted_role)
         AND NOT EXISTS (
           SELECT 1 FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
           WHERE a.privilege_type = 'CREATE'
             AND (a.grantee = 0 OR a.grantee NOT IN (SELECT oid FROM trusted_role))))),
untrusted_path AS (SELECT EXISTS (SELECT 1 FROM path WHERE nsp NOT IN (SELECT oid FROM trusted_nsp)) AS has_untrusted),
wanted AS (
  SELECT k.kind, e->>0 AS schema, e->>1 AS name
  FROM input,
       LATERAL (VALUES ('function', 'functions'), ('operator', 'operators'),
                       ('type', 'types'), ('relation', 'relations'),
                       ('attribute', 'attributes')) AS k(kind, key),
       LATERAL jsonb_array_elements(coalesce(input.j->k.key, '[]')) AS e),
cand_nsp AS (
  SELECT w.kind, w.schema, w.name, n.oid AS nsp, 0::int8 AS pos
  FROM wanted w JOIN pg_namespace n ON n.nspname = w.schema
  WHERE w.schema IS NOT NULL
  UNION ALL
  SELECT w.kind, w.schema, w.name, p.nsp, p.pos
  FROM wanted w CROSS JOIN path p WHERE w.schema IS NULL),
-- relations and types resolve to the first match on the path; functions and operators to
-- any overload, so every candidate is checked (overload resolution is not redone here)
rel0 AS (
  SELECT DISTINCT ON (c.schema, c.name) c.schema, c.name, r.oid
  FROM cand_nsp c JOIN pg_class r ON r.relname = c.name AND r.relnamespace = c.nsp
  WHERE c.kind = 'relation'
  ORDER BY c.schema, c.name, c.pos),
typ_named AS (
  SELECT DISTINCT ON (c.schema, c.name) c.schema, c.name, t.oid
  FROM cand_nsp c JOIN pg_type t ON t.typname = c.name AND t.typnamespace = c.nsp
  WHERE c.kind = 'type'
  ORDER BY c.schema, c.name, c.pos),
typ_funcname AS (  -- mytype(x) style casts
  SELECT c.name, t.oid FROM cand_nsp c
  JOIN pg_type t ON t.typname = c.name AND t.typnamespace = c.nsp
  WHERE c.kind = 'function'),
proc_named AS (
  SELECT p.oid, 'calls ' || c.name AS via FROM cand_nsp c
  JOIN pg_proc p ON p.proname = c.name AND p.pronamespace = c.nsp
  WHERE c.kind IN ('function', 'attribute')),
opr_named AS (
  SELECT o.oid, 'operator ' || c.name AS via FROM cand_nsp c
  JOIN pg_operator o ON o.oprname = c.name AND o.oprnamespace = c.nsp
  WHERE c.kind = 'operator'),
-- relations the planner expands: named ones, inheritance/partition children, relations a
-- view's rules or a row security policy read
rels(oid, via) AS (
  SELECT oid, 'relation ' || coalesce(schema || '.', '') || name FROM rel0
  UNION
  SELECT x.child, r.via FROM rels r CROSS JOIN LATERAL (
    SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = r.oid
    UNION
    SELECT d.refobjid FROM pg_rewrite rw
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                      AND d.refclassid = 'pg_class'::regclass
    WHERE rw.ev_class = r.oid AND d.refobjid <> r.oid
    UNION
    SELECT d.refobjid FROM pg_policy pol
      JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid
                      AND d.refclassid = 'pg_class'::regclass
    WHERE pol.polrelid = r.oid AND d.refobjid <> r.oid) AS x(child)),
-- expressions attached to those relations that parse analysis, the rewriter or the planner
-- evaluate or constant-fold: view rules, RLS policies, index expressions and predicates
-- (folded when the relcache loads them), CHECK constraints (constraint exclusion),
-- partition keys, extended statistics expressions, generated columns (virtual ones, 18+,
-- are expanded in SELECT), and column defaults when the statement is DML
rel_expr(kind, objid, via) AS (
  SELECT 'view rule', rw.oid, r.via || ' (view rule of ' || rw.ev_class::regclass::text || ')'
  FROM rels r JOIN pg_rewrite rw ON rw.ev_class = r.oid
  UNION ALL
  SELECT 'policy', pol.oid, r.via || ' (policy ' || pol.polname || ' on '
         || pol.polrelid::regclass::text || ')'
  FROM rels r JOIN pg_class c ON c.oid = r.oid AND c.relrowsecurity
  JOIN pg_policy pol ON pol.polrelid = r.oid
  UNION ALL
  SELECT 'index', i.indexrelid, r.via || ' (index ' || i.indexrelid::regclass::text || ')'
  FROM rels r JOIN pg_index i ON i.indrelid = r.oid
  UNION ALL
  SELECT 'constraint', co.oid, r.via || ' (constraint ' || co.conname || ' on '
         || co.conrelid::regclass::text || ')'
  FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
  UNION ALL
  SELECT 'relation', r.oid, r.via || ' (partition key or definition of '
         || r.oid::regclass::text || ')' FROM rels r
  UNION ALL
  SELECT 'statistics', s.oid, r.via || ' (statistics ' || s.stxname || ')'
  FROM rels r JOIN pg_statistic_ext s ON s.stxrelid = r.oid
  UNION ALL
  SELECT 'default', ad.oid, r.via || ' (default or generated column ' || a.attname || ' of '
         || ad.adrelid::regclass::text || ')'
  FROM rels r JOIN pg_attrdef ad ON ad.adrelid = r.oid
  JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum, input
  WHERE a.attgenerated <> '' OR coalesce((input.j->>'dml')::boolean, false)),
rel_deps AS (
  SELECT d.refclassid, d.refobjid, e.via FROM rel_expr e
  JOIN pg_depend d ON d.objid = e.objid AND d.classid = CASE e.kind
      WHEN 'view rule' THEN 'pg_rewrite'::regclass WHEN 'policy' THEN 'pg_policy'::regclass
      WHEN 'index' THEN 'pg_class'::regclass WHEN 'constraint' THEN 'pg_constraint'::regclass
      WHEN 'relation' THEN 'pg_class'::regclass
      WHEN 'statistics' THEN 'pg_statistic_ext'::regclass
      WHEN 'default' THEN 'pg_attrdef'::regclass END
  WHERE d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass, 'pg_type'::regclass)
    AND d.deptype IN ('n', 'a')),
-- operators: named candidates, those in attached expressions, and their commutators and
-- negators (the planner may swap an operator for either)
opr0 AS (
  SELECT oid, via FROM opr_named
  UNION SELECT refobjid, via FROM rel_deps WHERE refclassid = 'pg_operator'::regclass),
oprs AS (
  SELECT oid, via FROM opr0
  UNION SELECT o.oprcom, x.via FROM opr0 x JOIN pg_operator o ON o.oid = x.oid WHERE o.oprcom <> 0
  UNION SELECT o.oprnegate, x.via FROM opr0 x JOIN pg_operator o ON o.oid = x.oid WHERE o.oprnegate <> 0),
-- types in play, then closed over domains' base types, array elements, range subtypes and
-- composite attributes
typ0(oid, via) AS (
  SELECT oid, 'type ' || coalesce(schema || '.', '') || name FROM typ_named
  UNION SELECT oid, 'cast to ' || name FROM typ_funcname
  UNION SELECT a.atttypid, r.via || ' (column ' || a.attname || ')'
        FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  UNION SELECT refobjid, via FROM rel_deps WHERE refclassid = 'pg_type'::regclass
  UNION SELECT unnest(p.proargtypes::oid[] || p.prorettype), n.via
        FROM proc_named n JOIN pg_proc p ON p.oid = n.oid
  UNION SELECT unnest(ARRAY[o.oprleft, o.oprright, o.oprresult]), x.via
        FROM oprs x JOIN pg_operator o ON o.oid = x.oid),
typs(oid, via) AS (
  SELECT oid, via FROM typ0 WHERE oid <> 0
  UNION
  SELECT x.sub, t.via FROM typs t CROSS JOIN LATERAL (
    SELECT ty.typbasetype FROM pg_type ty WHERE ty.oid = t.oid AND ty.typbasetype <> 0
    UNION SELECT ty.typelem FROM pg_type ty WHERE ty.oid = t.oid AND ty.typelem <> 0
    UNION SELECT rg.rngsubtype FROM pg_range rg WHERE rg.rngtypid = t.oid
    UNION SELECT a.atttypid FROM pg_type ty
      JOIN pg_class c ON c.oid = ty.typrelid AND c.relkind = 'c'
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE ty.oid = t.oid) AS x(sub)),
-- domain CHECK constraints (checked when a value is coerced to the domain)
dom_deps AS (
  SELECT d.refclassid, d.refobjid,
         t.via || ' (domain ' || co.contypid::regtype::text || ' constraint ' || co.conname || ')' AS via
  FROM typs t JOIN pg_constraint co ON co.contypid = t.oid
  JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = co.oid
  WHERE d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass)),
dom_oprs AS (
  SELECT refobjid AS oid, via FROM dom_deps WHERE refclassid = 'pg_operator'::regclass),
-- every function that can run: named, attached, operator implementations and selectivity
-- estimators, type I/O, typmod, analyze and subscript functions, range support, casts
-- from or to a type in play, domain constraints; then aggregates' support functions and
-- planner support functions of all of them
proc0(oid, via) AS (
  SELECT oid, via FROM proc_named
  UNION SELECT refobjid, via FROM rel_deps WHERE refclassid = 'pg_proc'::regclass
  UNION SELECT refobjid, via FROM dom_deps WHERE refclassid = 'pg_proc'::regclass
  UNION SELECT unnest(ARRAY[o.oprcode, o.oprrest, o.oprjoin]::oid[]),
               x.via || ' ' || o.oprnamespace::regnamespace::text || '.' || o.oprname
               || '(' || o.oprleft::regtype::text || ',' || o.oprright::regtype::text || ')'
        FROM (SELECT oid, via FROM oprs UNION SELECT oid, via FROM dom_oprs) x
        JOIN pg_operator o ON o.oid = x.oid
  UNION SELECT unnest(ARRAY[ty.typinput, ty.typoutput, ty.typreceive, ty.typsend,
                            ty.typmodin, ty.typmodout, ty.typanalyze, ty.typsubscript]::oid[]),
               t.via || ' (type ' || ty.oid::regtype::text || ')'
        FROM typs t JOIN pg_type ty ON ty.oid = t.oid
  UNION SELECT unnest(ARRAY[rg.rngcanonical, rg.rngsubdiff]::oid[]),
               t.via || ' (range ' || rg.rngtypid::regtype::text || ')'
        FROM typs t JOIN pg_range rg ON rg.rngtypid = t.oid
  UNION SELECT ca.castfunc, t.via || ' (cast ' || ca.castsource::regtype::text || ' -> '
               || ca.casttarget::regtype::text || ')'
        FROM typs t JOIN pg_cast ca ON t.oid IN (ca.castsource, ca.casttarget)
        WHERE ca.castfunc <> 0),
procs(oid, via) AS (
  SELECT oid, via FROM proc0 WHERE oid <> 0
  UNION SELECT unnest(ARRAY[ag.aggtransfn, ag.aggfinalfn, ag.aggcombinefn, ag.aggserialfn,
                            ag.aggdeserialfn, ag.aggmtransfn, ag.aggminvtransfn,
                            ag.aggmfinalfn]::oid[]), x.via || ' (aggregate support)'
        FROM proc0 x JOIN pg_aggregate ag ON ag.aggfnoid = x.oid
  UNION SELECT p.prosupport, x.via || ' (planner support)'
        FROM proc0 x JOIN pg_proc p ON p.oid = x.oid WHERE p.prosupport <> 0),
proc_verdict AS (
  SELECT DISTINCT ON (p.oid) p.oid, x.via,
    quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '('
      || pg_get_function_identity_arguments(p.oid) || ')' AS object,
    CASE
      WHEN p.oid < 16384 OR p.pronamespace = 'pg_catalog'::regnamespace THEN NULL
      WHEN n.nspname = ANY (opts.schemas) OR n.nspname || '.' || p.proname = ANY (opts.funcs) THEN NULL
      WHEN p.proowner NOT IN (SELECT oid FROM trusted_role)
        THEN 'owner ' || pg_get_userbyid(p.proowner) || ' is not a superuser'
      WHEN p.pronamespace NOT IN (SELECT oid FROM trusted_nsp)
        THEN 'schema ' || n.nspname || ' is writable by or owned by non-superusers'
      WHEN l.lanname NOT IN ('c', 'internal') AND p.prosqlbody IS NULL
           AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) cfg WHERE cfg LIKE 'search\_path=%%')
           AND (p.prosecdef OR (SELECT has_untrusted FROM untrusted_path))
        THEN CASE WHEN p.prosecdef THEN 'SECURITY DEFINER ' ELSE '' END
             || 'function body resolves names on a search_path with untrusted schemas'
    END AS reason
  FROM procs x JOIN pg_proc p ON p.oid = x.oid
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang, opts
  ORDER BY p.oid, x.via)
-- untrusted code
SELECT 'calls' AS verb, object, reason, via FROM proc_verdict WHERE reason IS NOT NULL
UNION ALL
-- foreign tables: the FDW may contact the remote server while planning
SELECT 'reads', r.oid::regclass::text, 'foreign table: planning may contact a remote server', r.via
FROM rels r JOIN pg_class c ON c.oid = r.oid WHERE c.relkind = 'f'
UNION ALL
-- names that do not resolve: PREPARE/EXPLAIN would fail with an ERROR
SELECT 'unresolved', coalesce(w.schema || '.', '') || w.name, w.kind || ' does not resolve',
       'name in the statement'
FROM wanted w, input
WHERE (w.kind = 'relation' AND NOT EXISTS (SELECT 1 FROM rel0 r WHERE r.name = w.name
                                            AND r.schema IS NOT DISTINCT FROM w.schema)
        AND NOT (w.schema IS NULL AND input.j->'ctes' ? w.name))
   OR (w.kind = 'function' AND NOT EXISTS (SELECT 1 FROM cand_nsp c JOIN pg_proc p
          ON p.proname = c.name AND p.pronamespace = c.nsp
          WHERE c.kind = 'function' AND c.name = w.name AND c.schema IS NOT DISTINCT FROM w.schema)
        AND NOT EXISTS (SELECT 1 FROM typ_funcname t WHERE t.name = w.name))
   OR (w.kind = 'operator' AND NOT EXISTS (SELECT 1 FROM cand_nsp c JOIN pg_operator o
          ON o.oprname = c.name AND o.oprnamespace = c.nsp
          WHERE c.kind = 'operator' AND c.name = w.name AND c.schema IS NOT DISTINCT FROM w.schema))
   OR (w.kind = 'type' AND NOT EXISTS (SELECT 1 FROM typ_named t WHERE t.name = w.name
                                        AND t.schema IS NOT DISTINCT FROM w.schema))
   OR (w.schema IS NOT NULL AND w.kind <> 'attribute'
       AND NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = w.schema))
UNION ALL
-- privileges the executor checks when EXPLAIN initialises the plan (ERROR otherwise)
SELECT 'lacks privilege', 'schema ' || w.schema, 'no USAGE', 'name in the statement'
FROM (SELECT DISTINCT schema FROM wanted WHERE schema IS NOT NULL AND kind <> 'attribute') w
JOIN pg_namespace n ON n.nspname = w.schema
WHERE NOT has_schema_privilege(n.oid, 'USAGE')
UNION ALL
SELECT 'lacks privilege', r.oid::regclass::text,
       CASE WHEN has_any_column_privilege(r.oid, 'SELECT') THEN 'SELECT on some columns only'
            ELSE 'no SELECT' END, 'relation in the statement'
FROM rel0 r WHERE NOT has_table_privilege(r.oid, 'SELECT')
UNION ALL
-- security_invoker views (15+) check the invoker's privileges on what they read
SELECT 'lacks privilege', d.refobjid::regclass::text, 'no SELECT (security_invoker view)', r.via
FROM rels r JOIN pg_class v ON v.oid = r.oid AND v.relkind = 'v'
     AND coalesce(v.reloptions::text[] && ARRAY['security_invoker=true', 'security_invoker=on',
                                                'security_invoker=1'], false)
JOIN pg_rewrite rw ON rw.ev_class = v.oid
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
     AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> v.oid
WHERE NOT has_table_privilege(d.refobjid, 'SELECT')
UNION ALL
SELECT 'lacks privilege', v.object, 'no EXECUTE (an overload of a name in the statement '
       || 'or an operator''s function)', v.via
FROM proc_verdict v
WHERE (v.oid IN (SELECT oid FROM proc_named) OR v.oid IN (SELECT o.oprcode FROM oprs x
       JOIN pg_operator o ON o.oid = x.oid))
  AND NOT has_function_privilege(v.oid, 'EXECUTE')
