"""Read a database's schema into a `migration.catalog.Catalog` (user schemas only).

Objects that belong to an extension are left out (the extension recreates them), as are
pg_catalog, information_schema and the TOAST schemas.
"""

from __future__ import annotations

from typing import Any

from pgsage.analyzer.live.connection import Session
from pgsage.analyzer.migration.catalog import (
    Catalog,
    Column,
    Constraint,
    Function,
    Index,
    Sequence,
    Table,
    View,
)

USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'")
NOT_EXTENSION = ("NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = {oid} "
                 "AND d.deptype = 'e')")


def _q(session: Session, sql: str) -> list[dict[str, Any]]:
    return session.fetch(sql, {})  # {}: %% is the escape, as in every parameterised query


def read_catalog(session: Session) -> Catalog:
    cat = Catalog()
    cat.schemas = tuple(r["nspname"] for r in _q(session, (
        "SELECT n.nspname FROM pg_namespace n WHERE " + USER_SCHEMAS + " AND "
        + NOT_EXTENSION.format(oid="n.oid") + " ORDER BY 1")))
    for r in _q(session, (
            "SELECT format('%%s.%%s', n.nspname, c.relname) AS name, c.relpersistence "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND " + USER_SCHEMAS
            + " AND " + NOT_EXTENSION.format(oid="c.oid"))):
        cat.tables[r["name"]] = Table(r["name"], unlogged=r["relpersistence"] == "u")
    for r in _q(session, (
            "SELECT format('%%s.%%s', n.nspname, c.relname) AS tbl, a.attname, "
            "format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, a.attidentity::text "
            "AS identity, a.attgenerated::text AS generated, "
            "pg_get_expr(d.adbin, d.adrelid) AS expr "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND "
            + USER_SCHEMAS + " ORDER BY a.attnum")):
        table = cat.tables.get(r["tbl"])
        if table is None:
            continue
        generated = r["generated"] or ""
        table.columns[r["attname"]] = Column(
            r["attname"], r["type"], bool(r["attnotnull"]),
            None if generated else r["expr"], r["identity"] or "", generated,
            r["expr"] if generated else None)
    for r in _q(session, (
            "SELECT format('%%s.%%s', n.nspname, c.relname) AS tbl, k.conname, "
            "k.contype::text AS kind, pg_get_constraintdef(k.oid) AS def, k.convalidated, "
            "CASE WHEN k.confrelid <> 0 THEN (SELECT format('%%s.%%s', fn.nspname, fc.relname) "
            "FROM pg_class fc JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
            "WHERE fc.oid = k.confrelid) END AS ref, "
            "array(SELECT attname FROM pg_attribute WHERE attrelid = k.conrelid "
            "AND attnum = ANY(k.conkey) ORDER BY array_position(k.conkey, attnum)) AS cols "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE k.contype IN ('p', 'u', 'f', 'c', 'x') AND k.conparentid = 0 AND "
            + USER_SCHEMAS)):
        table = cat.tables.get(r["tbl"])
        if table is not None:
            table.constraints[r["conname"]] = Constraint(
                r["conname"], r["kind"], r["def"], tuple(r["cols"]), bool(r["convalidated"]),
                r["ref"])
    for r in _q(session, (
            "SELECT format('%%s.%%s', n.nspname, ic.relname) AS name, "
            "format('%%s.%%s', n.nspname, tc.relname) AS tbl, "
            "pg_get_indexdef(i.indexrelid) AS def, "
            "array(SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid "
            "AND attnum = ANY(i.indkey) ORDER BY array_position(i.indkey, attnum)) AS cols "
            "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
            "JOIN pg_class tc ON tc.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = ic.relnamespace "
            "WHERE NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid "
            "AND k.contype IN ('p', 'u', 'x')) AND tc.relkind IN ('r', 'p') "
            "AND NOT tc.relispartition AND " + USER_SCHEMAS)):
        if r["tbl"] in cat.tables:
            cat.indexes[r["name"]] = Index(r["name"], r["tbl"], r["def"], tuple(r["cols"]))
    for r in _q(session, (
            "SELECT format('%%s.%%s', s.schemaname, s.sequencename) AS name, "
            "format('AS %%s INCREMENT BY %%s MINVALUE %%s MAXVALUE %%s START WITH %%s "
            "CACHE %%s%%s', s.data_type, s.increment_by, s.min_value, s.max_value, "
            "s.start_value, s.cache_size, CASE WHEN s.cycle THEN ' CYCLE' ELSE '' END) AS def "
            "FROM pg_sequences s JOIN pg_namespace n ON n.nspname = s.schemaname "
            "JOIN pg_class c ON c.relname = s.sequencename AND c.relnamespace = n.oid "
            "WHERE NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid "
            "AND d.deptype IN ('i', 'e')) AND " + USER_SCHEMAS)):
        cat.sequences[r["name"]] = Sequence(r["name"], r["def"])
    for r in _q(session, (
            "SELECT format('%%s.%%s', n.nspname, c.relname) AS name, "
            "pg_get_viewdef(c.oid) AS def, array(SELECT DISTINCT format('%%s.%%s', "
            "tn.nspname, t.relname) FROM pg_rewrite w JOIN pg_depend d ON d.objid = w.oid "
            "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn "
            "ON tn.oid = t.relnamespace WHERE w.ev_class = c.oid AND t.oid <> c.oid "
            "AND t.relkind IN ('r', 'p')) AS tables "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'v' AND " + USER_SCHEMAS + " AND "
            + NOT_EXTENSION.format(oid="c.oid"))):
        cat.views[r["name"]] = View(r["name"], r["def"], tuple(sorted(r["tables"])))
    for r in _q(session, (
            "SELECT format('%%s.%%s(%%s)', n.nspname, p.proname, "
            "pg_get_function_identity_arguments(p.oid)) AS sig, "
            "format('%%s.%%s', n.nspname, p.proname) AS name, "
            "pg_get_functiondef(p.oid) AS def "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.prokind IN ('f', 'p') AND " + USER_SCHEMAS + " AND "
            + NOT_EXTENSION.format(oid="p.oid"))):
        cat.functions[r["sig"]] = Function(r["name"], r["sig"], r["def"])
    return cat
