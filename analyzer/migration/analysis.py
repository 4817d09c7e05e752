"""A migration file, statement by statement: locks per relation, effect, caveats, findings.

The facts (which subcommand takes which lock, what rewrites, scans or only touches the
catalog, and from which version) come from the ALTER TABLE, CREATE INDEX, REINDEX and
DROP INDEX reference pages and AlterTableGetLockLevel() in tablecmds.c; every lock and effect
claimed here was observed on PostgreSQL 15 and 18 (pg_locks, relfilenode; see
docs/migrations.md). Tables created earlier in the same file are exempt from the findings:
nobody else uses them yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import AlterTableType as AT
from pglast.enums import ConstrType, ObjectType, ReindexObjectType
from pglast.enums import TransactionStmtKind as TK
from pglast.parser import ParseError

from pgsage.analyzer.errors import UsageError
from pgsage.analyzer.migration import locks as L
from pgsage.analyzer.migration import rewrites as R
from pgsage.analyzer.migration.coercion import (
    SERIAL_TYPES,
    TypeSpec,
    binary_coercible,
    typespec,
    typespec_from_text,
    volatility,
)
from pgsage.analyzer.model.findings import Severity
from pgsage.analyzer.sqlgen import ident, index_name, literal

REWRITE, SCAN, BUILD, CATALOG, DATA, NONE = ("rewrite", "scan", "index build", "catalog only",
                                             "row changes", "none")
EFFECT_RANK = {NONE: 0, CATALOG: 1, DATA: 2, SCAN: 3, BUILD: 4, REWRITE: 5}
SLOW_EFFECTS = frozenset({REWRITE, SCAN, BUILD, DATA})
"""Effects whose duration grows with the table: the lock is held while they run."""


class MigrationParseError(UsageError):
    """A migration file PostgreSQL's grammar rejects: one line with the file and line."""


@dataclass
class Lock:
    relation: str
    mode: str
    kind: str = "table"
    """table, index, partition or referenced table."""
    note: str = ""


@dataclass
class Finding:
    code: str
    severity: Severity
    title: str
    detail: str
    safe_sql: str = ""
    relation: str | None = None
    columns: tuple[str, ...] = ()
    rewrite_locks: dict[str, str] = field(default_factory=dict)
    """The strongest lock per relation the safe rewrite takes (what the tests observe)."""


@dataclass
class StatementReport:
    index: int
    line: int
    sql: str
    command: str
    locks: list[Lock] = field(default_factory=list)
    effect: str = NONE
    effects: dict[str, str] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    in_transaction: bool = False
    unknown: list[str] = field(default_factory=list)
    """What could not be judged without a DSN (old column types, function volatility)."""

    @property
    def slow(self) -> bool:
        return any(e in SLOW_EFFECTS or e.startswith(REWRITE) for e in self.effects.values())

    def lock_on(self, relation: str) -> str | None:
        mode: str | None = None
        for lk in self.locks:
            if lk.relation == relation:
                mode = L.stronger(mode, lk.mode)
        return mode

    def strongest(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for lk in self.locks:
            out[lk.relation] = L.stronger(out.get(lk.relation), lk.mode)
        return out


@dataclass
class HeldLock:
    relation: str
    mode: str
    acquired_at: int


@dataclass
class FileReport:
    path: str
    statements: list[StatementReport]
    held: list[list[HeldLock]]
    """What each multi-statement transaction holds until its COMMIT."""
    findings: list[Finding]
    """File-level findings (MG019)."""

    def all_findings(self) -> Iterator[tuple[StatementReport | None, Finding]]:
        for s in self.statements:
            for f in s.findings:
                yield s, f
        for f in self.findings:
            yield None, f

    def codes(self) -> list[str]:
        return [f.code for _, f in self.all_findings()]

    def relations(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.statements:
            for lk in s.locks:
                if not lk.relation.startswith("("):
                    seen.setdefault(lk.relation, None)
        return list(seen)


@dataclass
class Schema:
    """What is known about the existing objects: nothing offline, the catalog with a DSN."""

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    """{table: {column: format_type text}}."""
    valid_not_null_checks: set[tuple[str, str]] = field(default_factory=set)
    index_table: dict[str, str] = field(default_factory=dict)
    foreign_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    """{(table, constraint): referenced table}."""
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    """{function name: pg_proc.provolatile}."""
    timezone_utc: bool | None = None
    known: bool = False
    """The catalog was read (a DSN): unknown columns are really absent."""


def split_statements(sql: str, path: str) -> tuple[list[Any], list[str], list[int]]:
    """Parsed statements, their texts and first lines; a syntax error names file and line."""
    try:
        stmts = parse_sql(sql)
    except ParseError as exc:
        where = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        line = sql[:where].count("\n") + 1
        raise MigrationParseError(f"{path}:{line}: {exc.args[0]}") from None
    raw = sql.encode()
    texts, lines = [], []
    for s in stmts:
        start = s.stmt_location or 0
        end = start + s.stmt_len if s.stmt_len else len(raw)
        chunk = raw[start:end].decode()
        lead = len(chunk) - len(chunk.lstrip())
        texts.append(chunk.strip())
        lines.append(raw[:start].decode(errors="ignore").count("\n")
                     + chunk[:lead].count("\n") + 1)
    return list(stmts), texts, lines


def analyze_sql(sql: str, server_version: int, *, schema: Schema | None = None,
                assume_in_transaction: bool = False, path: str = "<sql>") -> FileReport:
    """Analyse a migration file for a server_version_num (e.g. 170000)."""
    stmts, texts, lines = split_statements(sql, path)
    st = _State(server_version, schema or Schema(), assume_in_transaction)
    reports: list[StatementReport] = []
    for i, (raw, text, line) in enumerate(zip(stmts, texts, lines, strict=True)):
        rep = StatementReport(i, line, text, type(raw.stmt).__name__, in_transaction=st.in_tx)
        _analyze(raw.stmt, rep, st)
        _lock_timeout_rule(raw.stmt, rep, st)
        reports.append(rep)
    held, file_findings = _transactions(reports, assume_in_transaction)
    return FileReport(path, reports, held, file_findings)


class _State:
    def __init__(self, version: int, schema: Schema, assume_in_transaction: bool) -> None:
        self.version = version
        self.schema = schema
        self.in_tx = assume_in_transaction
        self.created: set[str] = set()
        self.created_indexes: dict[str, str] = {}
        self.lock_timeout_set = False
        self.not_valid_checks: dict[tuple[str, str], list[str]] = {}
        self.proven_not_null: set[tuple[str, str]] = set(schema.valid_not_null_checks)
        self.fk_constraints: dict[tuple[str, str], str] = dict(schema.foreign_keys)
        self.primary_keys: dict[str, tuple[str, ...]] = dict(schema.primary_keys)
        self.columns: dict[str, dict[str, TypeSpec]] = {
            t: {c: typespec_from_text(ty) for c, ty in cols.items()}
            for t, cols in schema.columns.items()}

    def existing(self, table: str) -> bool:
        return table not in self.created

    def coltype(self, table: str, col: str) -> TypeSpec | None:
        return (self.columns.get(table, {}).get(col)
                or self.columns.get(R.bare(table), {}).get(col))

    def index_table(self, idx: str) -> str:
        return (self.created_indexes.get(idx) or self.schema.index_table.get(idx)
                or self.schema.index_table.get(R.bare(idx)) or f"(table of {idx})")


def relname(rv: Any) -> str:
    if rv is None:
        return "?"
    return f"{rv.schemaname}.{rv.relname}" if rv.schemaname else str(rv.relname)


def _add(rep: StatementReport, relation: str, mode: str, kind: str = "table",
         note: str = "") -> None:
    rep.locks.append(Lock(relation, mode, kind, note))


def _effect(rep: StatementReport, relation: str, effect: str) -> None:
    if EFFECT_RANK[effect] > EFFECT_RANK.get(rep.effects.get(relation, NONE), 0):
        rep.effects[relation] = effect
    if EFFECT_RANK[effect] > EFFECT_RANK[rep.effect]:
        rep.effect = effect


def _finding(rep: StatementReport, code: str, severity: Severity, title: str, detail: str,
             safe: str = "", relation: str | None = None, columns: tuple[str, ...] = (),
             rewrite_locks: dict[str, str] | None = None) -> None:
    rep.findings.append(Finding(code, severity, title, detail, safe, relation, columns,
                                dict(rewrite_locks or {})))


def _stmt(rep: StatementReport) -> str:
    return rep.sql.strip().rstrip(";").strip()


def _analyze(node: Any, rep: StatementReport, st: _State) -> None:
    handler = _HANDLERS.get(type(node))
    if handler is None:
        rep.command = type(node).__name__.removesuffix("Stmt")
        return
    handler(node, rep, st)


def _transaction(node: Any, rep: StatementReport, st: _State) -> None:
    rep.command = "transaction control"
    if node.kind in (TK.TRANS_STMT_BEGIN, TK.TRANS_STMT_START):
        st.in_tx = rep.in_transaction = True
    elif node.kind in (TK.TRANS_STMT_COMMIT, TK.TRANS_STMT_ROLLBACK,
                       TK.TRANS_STMT_PREPARE):
        st.in_tx = bool(node.chain)


def _set(node: Any, rep: StatementReport, st: _State) -> None:
    name = (node.name or "").lower()
    value = ""
    if node.args and isinstance(node.args[0], ast.A_Const):
        val = node.args[0].val
        value = str(getattr(val, "sval", None) or getattr(val, "ival", ""))
    if name == "lock_timeout":
        st.lock_timeout_set = value not in ("", "0")
    rep.command = f"SET {name}"


def _create_table(node: Any, rep: StatementReport, st: _State) -> None:
    t = relname(node.relation)
    st.created.add(t)
    st.columns[t] = {str(el.colname): typespec(el.typeName) for el in node.tableElts or ()
                     if isinstance(el, ast.ColumnDef) and el.typeName is not None}
    rep.command = "CREATE TABLE"
    for el in node.tableElts or ():
        cons = [el] if isinstance(el, ast.Constraint) else list(
            getattr(el, "constraints", None) or ())
        for c in cons:
            if isinstance(c, ast.Constraint) and c.contype == ConstrType.CONSTR_FOREIGN:
                _add(rep, relname(c.pktable), L.SHARE_ROW_EXCLUSIVE, "referenced table",
                     "FK triggers are created on it")
            if isinstance(c, ast.Constraint) and c.contype == ConstrType.CONSTR_PRIMARY:
                keys = tuple(k.sval for k in c.keys or ()) or (
                    (el.colname,) if isinstance(el, ast.ColumnDef) else ())
                st.primary_keys[t] = keys
    _effect(rep, t, CATALOG)
    if node.partbound is not None and node.inhRelations:
        parent = relname(node.inhRelations[0])
        _add(rep, parent, L.ACCESS_EXCLUSIVE, "table",
             "CREATE TABLE ... PARTITION OF locks the parent ACCESS EXCLUSIVE")
        rep.caveats.append("CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE on the parent; "
                           "CREATE TABLE (LIKE parent) + ATTACH PARTITION needs only SHARE "
                           "UPDATE EXCLUSIVE on it (12+)")


def _create_index(node: Any, rep: StatementReport, st: _State) -> None:
    t = relname(node.relation)
    idx = node.idxname or "(unnamed)"
    st.created_indexes[idx] = t
    rep.command = "CREATE INDEX CONCURRENTLY" if node.concurrent else "CREATE INDEX"
    _effect(rep, t, BUILD)
    if node.concurrent:
        _add(rep, t, L.SHARE_UPDATE_EXCLUSIVE)
        rep.caveats.append("CONCURRENTLY: two table scans, waits for every transaction that "
                           "could write the table; a failure leaves an INVALID index "
                           "(check pg_index.indisvalid, DROP INDEX CONCURRENTLY and retry)")
        if st.in_tx:
            _finding(rep, "MG002", Severity.HIGH,
                     "CREATE INDEX CONCURRENTLY inside a transaction block",
                     "It fails: CONCURRENTLY cannot run in a transaction block (nor in a "
                     "migration tool's implicit per-file transaction).",
                     _stmt(rep) + ";", t, rewrite_locks={t: L.SHARE_UPDATE_EXCLUSIVE})
        return
    _add(rep, t, L.SHARE)
    if st.existing(t):
        node.concurrent = True
        safe = R.deparse(node) + ";"
        node.concurrent = False
        _finding(rep, "MG001", Severity.MEDIUM,
                 f"CREATE INDEX without CONCURRENTLY blocks writes to {t}",
                 "Plain CREATE INDEX holds SHARE on the table for the whole build: INSERT, "
                 "UPDATE and DELETE wait; reads continue. Run the CONCURRENTLY form outside a "
                 "transaction block; if it fails, drop the INVALID index it leaves and retry.",
                 safe, t, rewrite_locks={t: L.SHARE_UPDATE_EXCLUSIVE})


def _drop(node: Any, rep: StatementReport, st: _State) -> None:
    names = [".".join(s.sval for s in obj) if isinstance(obj, tuple | list) else str(obj)
             for obj in node.objects]
    kind = node.removeType
    if kind == ObjectType.OBJECT_INDEX:
        _drop_index(node, names, rep, st)
        return
    if kind == ObjectType.OBJECT_TABLE:
        rep.command = "DROP TABLE"
        for t in names:
            _add(rep, t, L.ACCESS_EXCLUSIVE)
            _effect(rep, t, CATALOG)
            if st.existing(t):
                _finding(rep, "MG021", Severity.MEDIUM, f"DROP TABLE {t}",
                         "Destroys the data and breaks every client still using the table; "
                         "takes ACCESS EXCLUSIVE (and locks referencing tables to drop their "
                         "foreign keys). A contract step: only once no deployed code reads or "
                         "writes it.",
                         R.with_lock_timeout(_stmt(rep)), t,
                         rewrite_locks={t: L.ACCESS_EXCLUSIVE})
        return
    rep.command = f"DROP {kind.name.removeprefix('OBJECT_')}"


def _drop_index(node: Any, names: list[str], rep: StatementReport, st: _State) -> None:
    rep.command = "DROP INDEX CONCURRENTLY" if node.concurrent else "DROP INDEX"
    for idx in names:
        t = st.index_table(idx)
        if node.concurrent:
            _add(rep, t, L.SHARE_UPDATE_EXCLUSIVE)
            _add(rep, idx, L.SHARE_UPDATE_EXCLUSIVE, "index",
                 "waits for every transaction using the table before removing it")
            if st.in_tx:
                _finding(rep, "MG002", Severity.HIGH, "DROP INDEX CONCURRENTLY inside a "
                         "transaction block",
                         "It fails: DROP INDEX CONCURRENTLY cannot run in a transaction block.",
                         _stmt(rep) + ";", t)
        else:
            _add(rep, t, L.ACCESS_EXCLUSIVE)
            _add(rep, idx, L.ACCESS_EXCLUSIVE, "index")
            if idx not in st.created_indexes:
                node.concurrent = True
                safe = R.deparse(node) + ";"
                node.concurrent = False
                _finding(rep, "MG003", Severity.MEDIUM,
                         f"DROP INDEX {idx} takes ACCESS EXCLUSIVE on its table",
                         "Brief, but reads and writes queue behind it, and behind whatever it "
                         "waits for. DROP INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE "
                         "(outside a transaction block).", safe, t,
                         rewrite_locks={t: L.SHARE_UPDATE_EXCLUSIVE,
                                        idx: L.SHARE_UPDATE_EXCLUSIVE})
        _effect(rep, t, CATALOG)


def _alter_index(node: Any, rep: StatementReport, st: _State) -> None:
    idx = relname(node.relation)
    rep.command = "ALTER INDEX"
    mode: str | None = None
    for cmd in node.cmds:
        if cmd.subtype in (AT.AT_SetRelOptions, AT.AT_ResetRelOptions, AT.AT_SetStatistics,
                           AT.AT_AttachPartition):
            mode = L.stronger(mode, L.SHARE_UPDATE_EXCLUSIVE)
        else:
            mode = L.stronger(mode, L.ACCESS_EXCLUSIVE)
    _add(rep, idx, mode or L.ACCESS_EXCLUSIVE, "index")
    _effect(rep, idx, CATALOG)


def _rename(node: Any, rep: StatementReport, st: _State) -> None:
    rt = node.renameType
    target = relname(node.relation) if node.relation is not None else "?"
    if rt == ObjectType.OBJECT_INDEX:
        rep.command = "ALTER INDEX ... RENAME"
        _add(rep, target, L.SHARE_UPDATE_EXCLUSIVE if st.version >= 120000
             else L.ACCESS_EXCLUSIVE, "index")
        _effect(rep, target, CATALOG)
        return
    what = {ObjectType.OBJECT_TABLE: "table", ObjectType.OBJECT_COLUMN: "column",
            ObjectType.OBJECT_TABCONSTRAINT: "constraint", ObjectType.OBJECT_VIEW: "view",
            ObjectType.OBJECT_MATVIEW: "materialized view"}.get(rt)
    if what is None:
        rep.command = f"RENAME {rt.name.removeprefix('OBJECT_')}"
        return
    rep.command = f"RENAME {what.upper()}"
    _add(rep, target, L.ACCESS_EXCLUSIVE)
    _effect(rep, target, CATALOG)
    _follow_rename(node, what, target, st)
    if what not in ("table", "column") or not st.existing(target):
        return
    t = R.qualified(target)
    if what == "column":
        old, new = node.subname, node.newname
        coltype = st.coltype(target, old)
        safe = (f"-- expand: a view (or the application) that reads both names, e.g.\n"
                f"ALTER TABLE {t} RENAME COLUMN {ident(old)} TO {ident(new)};\n"
                if coltype is None else
                f"ALTER TABLE {t} ADD COLUMN {ident(new)} {coltype};\n"
                + R.batched_update(target, f"{ident(new)} = {ident(old)}",
                                   f"{ident(new)} IS DISTINCT FROM {ident(old)}") + "\n"
                f"-- contract, once no deployed code uses {old}:\n"
                f"ALTER TABLE {t} DROP COLUMN {ident(old)};")
        title = f"RENAME COLUMN {target}.{old} -> {new} breaks running clients"
        columns: tuple[str, ...] = (old,)
    else:
        new_t = ident(*target.split(".")[:-1], node.newname)
        safe = (f"ALTER TABLE {t} RENAME TO {ident(node.newname)};\n"
                f"CREATE VIEW {t} AS SELECT * FROM {new_t};\n"
                f"-- contract, once no deployed code uses {target}: DROP VIEW {t};")
        title = f"RENAME TABLE {target} -> {node.newname} breaks running clients"
        columns = ()
    _finding(rep, "MG011", Severity.MEDIUM, title,
             "Catalog-only and fast, but every deployed query using the old name fails from "
             "COMMIT on, and ACCESS EXCLUSIVE is taken. Expand and contract instead: keep "
             "the old name working (a view for a table; a second column kept in sync for a "
             "column) until the code no longer uses it.", safe, target, columns,
             {target: L.ACCESS_EXCLUSIVE})


def _follow_rename(node: Any, what: str, target: str, st: _State) -> None:
    """Later statements of the file see the new names with what was known of the old."""
    if what == "table":
        new = ".".join([*target.split(".")[:-1], node.newname])
        cols = st.columns.get(target) or st.columns.get(R.bare(target))
        if cols is not None:
            st.columns[new] = cols
    elif what == "column":
        cols = st.columns.get(target) or st.columns.get(R.bare(target))
        if cols is not None and node.subname in cols:
            cols[node.newname] = cols.pop(node.subname)


def _vacuum(node: Any, rep: StatementReport, st: _State) -> None:
    opts = {d.defname.lower() for d in node.options or ()}
    full = "full" in opts
    rep.command = ("VACUUM FULL" if full else "VACUUM") if node.is_vacuumcmd else "ANALYZE"
    rels = [relname(r.relation) for r in node.rels or ()] or ["(every table)"]
    for t in rels:
        _add(rep, t, L.ACCESS_EXCLUSIVE if full else L.SHARE_UPDATE_EXCLUSIVE)
        _effect(rep, t, REWRITE if full else SCAN)
    if node.is_vacuumcmd and st.in_tx:
        _finding(rep, "MG002", Severity.HIGH, "VACUUM inside a transaction block",
                 "VACUUM cannot run inside a transaction block.", _stmt(rep) + ";", rels[0])
    if full:
        safe = "\n".join(f"VACUUM {R.qualified(t)};\nREINDEX TABLE CONCURRENTLY "
                         f"{R.qualified(t)};" for t in rels if not t.startswith("("))
        _finding(rep, "MG013", Severity.MEDIUM,
                 f"VACUUM FULL rewrites {', '.join(rels)} under ACCESS EXCLUSIVE",
                 "The table and all its indexes are copied while reads and writes wait; it "
                 "needs free disk as large as the table. Online: pg_repack or pg_squeeze; "
                 "or plain VACUUM plus a concurrent reindex for index bloat.",
                 safe, rels[0], rewrite_locks={t: L.SHARE_UPDATE_EXCLUSIVE for t in rels})


def _cluster(node: Any, rep: StatementReport, st: _State) -> None:
    t = relname(node.relation) if node.relation else "(all clustered tables)"
    rep.command = "CLUSTER"
    _add(rep, t, L.ACCESS_EXCLUSIVE)
    _effect(rep, t, REWRITE)
    if node.relation is None and st.in_tx:
        _finding(rep, "MG002", Severity.HIGH, "CLUSTER without a table in a transaction block",
                 "CLUSTER with no table name is refused inside a transaction block.")
    if node.relation is None:
        return
    _finding(rep, "MG013", Severity.MEDIUM, f"CLUSTER rewrites {t} under ACCESS EXCLUSIVE",
             "CLUSTER copies the whole table and rebuilds every index while reads and writes "
             "wait. Online: pg_repack --order-by, or a concurrent reindex if only the indexes "
             "are bloated.", f"REINDEX TABLE CONCURRENTLY {R.qualified(t)};", t,
             rewrite_locks={t: L.SHARE_UPDATE_EXCLUSIVE})


def _reindex(node: Any, rep: StatementReport, st: _State) -> None:
    concurrent = any(d.defname.lower() == "concurrently" for d in node.params or ())
    name = relname(node.relation) if node.relation is not None else (node.name or "?")
    rep.command = "REINDEX" + (" CONCURRENTLY" if concurrent else "")
    idx = name if node.kind == ReindexObjectType.REINDEX_OBJECT_INDEX else None
    t = st.index_table(name) if idx else name
    if concurrent:
        if st.version < 120000:
            _finding(rep, "MG002", Severity.HIGH, "REINDEX CONCURRENTLY needs PostgreSQL 12",
                     "A syntax error before 12.")
        _add(rep, t, L.SHARE_UPDATE_EXCLUSIVE)
        if idx:
            _add(rep, idx, L.SHARE_UPDATE_EXCLUSIVE, "index")
        _effect(rep, t, BUILD)
        if st.in_tx:
            _finding(rep, "MG002", Severity.HIGH, "REINDEX CONCURRENTLY inside a transaction "
                     "block", "It fails: REINDEX CONCURRENTLY cannot run in a transaction block.",
                     _stmt(rep) + ";", t)
        return
    _add(rep, t, L.SHARE)
    if idx:
        _add(rep, idx, L.ACCESS_EXCLUSIVE, "index",
             "queries whose planning touches the index also wait")
    else:
        rep.caveats.append("each index of the table is locked ACCESS EXCLUSIVE while rebuilt")
    _effect(rep, t, BUILD)
    if node.kind in (ReindexObjectType.REINDEX_OBJECT_SCHEMA,
                     ReindexObjectType.REINDEX_OBJECT_DATABASE,
                     ReindexObjectType.REINDEX_OBJECT_SYSTEM) and st.in_tx:
        _finding(rep, "MG002", Severity.HIGH, "REINDEX SCHEMA/DATABASE in a transaction block",
                 "Refused inside a transaction block.")
    params = list(node.params or ())
    node.params = (*params, ast.DefElem(defname="concurrently"))
    safe = R.deparse(node) + ";"
    node.params = tuple(params) or None
    _finding(rep, "MG016", Severity.MEDIUM, "REINDEX without CONCURRENTLY blocks writes",
             "Holds SHARE on the table (writes wait) and ACCESS EXCLUSIVE on the index being "
             "rebuilt (queries that would use it wait) for the whole rebuild. REINDEX "
             "CONCURRENTLY (12+, outside a transaction block) takes SHARE UPDATE EXCLUSIVE.",
             safe, t, rewrite_locks={t: L.SHARE_UPDATE_EXCLUSIVE})


def _create_trigger(node: Any, rep: StatementReport, st: _State) -> None:
    t = relname(node.relation)
    rep.command = "CREATE TRIGGER"
    _add(rep, t, L.SHARE_ROW_EXCLUSIVE)
    _effect(rep, t, CATALOG)
    if st.existing(t) and not st.lock_timeout_set:
        _finding(rep, "MG017", Severity.LOW, f"CREATE TRIGGER takes SHARE ROW EXCLUSIVE on {t}",
                 "Brief, but it blocks writes while it waits behind long transactions, and "
                 "the trigger function runs on every write from then on. Take the lock with a "
                 "short lock_timeout and retry.",
                 R.with_lock_timeout(_stmt(rep)), t, rewrite_locks={t: L.SHARE_ROW_EXCLUSIVE})


def _alter_enum(node: Any, rep: StatementReport, st: _State) -> None:
    typ = ".".join(s.sval for s in node.typeName)
    rep.command = ("ALTER TYPE ... ADD VALUE" if node.oldVal is None
                   else "ALTER TYPE ... RENAME VALUE")
    _effect(rep, typ, CATALOG)
    if node.oldVal is not None or not st.in_tx:
        return
    if st.version < 120000:
        _finding(rep, "MG018", Severity.HIGH,
                 "ALTER TYPE ... ADD VALUE cannot run inside a transaction block (<12)",
                 "Before PostgreSQL 12 this fails in a transaction block (unless the enum was "
                 "created in the same transaction). Run it on its own.", _stmt(rep) + ";")
    else:
        rep.caveats.append("12+: allowed in a transaction block, but the new value cannot be "
                           "used until the transaction commits")


def _truncate(node: Any, rep: StatementReport, st: _State) -> None:
    rep.command = "TRUNCATE"
    rels = [relname(rv) for rv in node.relations]
    for t in rels:
        _add(rep, t, L.ACCESS_EXCLUSIVE)
        _effect(rep, t, REWRITE)
    if st.existing(rels[0]):
        cascade = node.behavior is not None and node.behavior.name == "DROP_CASCADE"
        _finding(rep, "MG020", Severity.MEDIUM, "TRUNCATE takes ACCESS EXCLUSIVE and drops "
                 "every row",
                 "New relfilenodes are created; concurrent readers and writers wait. "
                 + ("CASCADE also truncates every table that references these. "
                    if cascade else "")
                 + "If the table must stay online, delete in batches instead.",
                 "\n".join(R.batched_delete(t) for t in rels), rels[0],
                 rewrite_locks={t: L.ROW_EXCLUSIVE for t in rels})


def _dml(node: Any, rep: StatementReport, st: _State) -> None:
    t = relname(node.relation)
    update = isinstance(node, ast.UpdateStmt)
    verb = "UPDATE" if update else "DELETE"
    rep.command = verb
    _add(rep, t, L.ROW_EXCLUSIVE, note="plus a row lock on every affected row until COMMIT")
    _effect(rep, t, DATA)
    if not st.existing(t):
        return
    if node.whereClause is not None:
        rep.unknown.append("rows affected: unknown without EXPLAIN on the live table")
        return
    safe = _batched_update_of(node, t, st) if update else R.batched_delete(t)
    _finding(rep, "MG014", Severity.MEDIUM, f"{verb} of every row of {t} in one statement",
             "One transaction locks every row until COMMIT (concurrent writers of those rows "
             "wait), and writes WAL and dead tuples for the whole table at once (replicas lag, "
             "vacuum falls behind). Batches commit on their own (11+, outside a transaction "
             "block).", safe, t, rewrite_locks={t: L.ROW_EXCLUSIVE})


def _batched_update_of(node: Any, t: str, st: _State) -> str:
    assignments = ", ".join(f"{ident(rt.name)} = {R.deparse(rt.val)}"
                            for rt in node.targetList)
    if all(not _references_columns(rt.val) for rt in node.targetList):
        pending = " OR ".join(f"{ident(rt.name)} IS DISTINCT FROM {R.deparse(rt.val)}"
                              for rt in node.targetList)
        return R.batched_update(t, assignments, pending)
    key = st.primary_keys.get(t)
    if key and len(key) == 1:
        return R.batched_by_key(t, key[0], assignments, None)
    return ("-- the new values depend on the row, so batches need a unique integer key; "
            "this assumes one named id\n" + R.batched_by_key(t, "id", assignments, None))


def _references_columns(node: Any) -> bool:
    if isinstance(node, ast.ColumnRef):
        return True
    if isinstance(node, ast.Node):
        return any(_references_columns(getattr(node, attr)) for attr in node)
    if isinstance(node, tuple | list):
        return any(_references_columns(x) for x in node)
    return False


def _lock_stmt(node: Any, rep: StatementReport, st: _State) -> None:
    rep.command = "LOCK"
    for rv in node.relations:
        _add(rep, relname(rv), L.LOCK_ORDER[node.mode - 1])


def _insert(node: Any, rep: StatementReport, st: _State) -> None:
    t = relname(node.relation)
    rep.command = "INSERT"
    _add(rep, t, L.ROW_EXCLUSIVE)
    _effect(rep, t, DATA)


def _refresh(node: Any, rep: StatementReport, st: _State) -> None:
    t = relname(node.relation)
    rep.command = "REFRESH MATERIALIZED VIEW"
    _add(rep, t, L.EXCLUSIVE if node.concurrent else L.ACCESS_EXCLUSIVE)
    _effect(rep, t, REWRITE)


SUE_RELOPTIONS = frozenset({"fillfactor", "toast_tuple_target", "parallel_workers",
                            "vacuum_index_cleanup", "vacuum_truncate",
                            "log_autovacuum_min_duration", "n_distinct",
                            "n_distinct_inherited"})
SUE_SUBCOMMANDS = frozenset({AT.AT_SetStatistics, AT.AT_ClusterOn, AT.AT_DropCluster,
                             AT.AT_SetOptions, AT.AT_ResetOptions, AT.AT_ValidateConstraint,
                             AT.AT_AttachPartition, AT.AT_DetachPartitionFinalize})
SRE_SUBCOMMANDS = frozenset({AT.AT_EnableTrig, AT.AT_EnableAlwaysTrig, AT.AT_EnableReplicaTrig,
                             AT.AT_EnableTrigAll, AT.AT_EnableTrigUser, AT.AT_DisableTrig,
                             AT.AT_DisableTrigAll, AT.AT_DisableTrigUser})
REWRITING_SUBCOMMANDS = frozenset({AT.AT_SetTableSpace, AT.AT_SetLogged, AT.AT_SetUnLogged,
                                   AT.AT_SetAccessMethod})


def _sue_reloption(name: str) -> bool:
    return (name in SUE_RELOPTIONS or name.startswith(("autovacuum_", "toast.")))


def _alter_table(node: Any, rep: StatementReport, st: _State) -> None:
    if node.objtype == ObjectType.OBJECT_INDEX:
        _alter_index(node, rep, st)
        return
    t = relname(node.relation)
    existing = st.existing(t)
    mode: str | None = None
    sub: list[str] = []
    for cmd in node.cmds:
        sub.append(cmd.subtype.name.removeprefix("AT_"))
        mode = L.stronger(mode, _alter_cmd(cmd, node, t, rep, st, existing))
    rep.command = "ALTER TABLE " + ", ".join(sub)
    rep.locks.insert(0, Lock(t, mode or L.ACCESS_EXCLUSIVE))
    if mode == L.ACCESS_EXCLUSIVE and rep.slow and existing and not rep.findings:
        _finding(rep, "MG025", Severity.MEDIUM,
                 f"ALTER TABLE {t} holds ACCESS EXCLUSIVE while it works",
                 "Reads and writes wait for the whole statement.", relation=t)


def _alter_cmd(cmd: Any, node: Any, t: str, rep: StatementReport, st: _State,
               existing: bool) -> str:
    """One subcommand's effect and findings; returns the lock it needs."""
    s = cmd.subtype
    if s == AT.AT_AddColumn:
        _add_column(cmd.def_, t, rep, st, existing)
    elif s == AT.AT_AlterColumnType:
        _alter_type(cmd, t, rep, st, existing)
    elif s == AT.AT_SetNotNull:
        _set_not_null(cmd.name, t, rep, st, existing)
    elif s in (AT.AT_AddConstraint, AT.AT_ReAddConstraint):
        _add_constraint(cmd.def_, node, t, rep, st, existing)
        if cmd.def_.contype == ConstrType.CONSTR_FOREIGN:
            return L.SHARE_ROW_EXCLUSIVE
    elif s == AT.AT_ValidateConstraint:
        _validate(cmd.name, t, rep, st)
        return L.SHARE_UPDATE_EXCLUSIVE
    elif s == AT.AT_DropColumn:
        _effect(rep, t, CATALOG)
        if existing:
            _finding(rep, "MG012", Severity.MEDIUM,
                     f"DROP COLUMN {t}.{cmd.name} breaks clients still using it",
                     "Catalog-only (no rewrite; the space is reclaimed as rows are updated), "
                     "but running code that selects, inserts or names the column fails, and "
                     "ORMs that list columns at startup break too; its indexes and constraints "
                     "go with it. A contract step: deploy code that no longer uses the column "
                     "first, then take the lock with a short lock_timeout.",
                     R.with_lock_timeout(_stmt(rep)), t, (cmd.name,),
                     {t: L.ACCESS_EXCLUSIVE})
    elif s in SUE_SUBCOMMANDS:
        _effect(rep, t, CATALOG)
        if s == AT.AT_AttachPartition:
            part = relname(cmd.def_.name)
            _add(rep, part, L.ACCESS_EXCLUSIVE, "partition")
            _effect(rep, part, SCAN)
            rep.caveats.append("ATTACH PARTITION (12+: SHARE UPDATE EXCLUSIVE on the parent) "
                               "scans the partition unless a valid CHECK constraint implies "
                               "the bound; a DEFAULT partition is locked and scanned too")
        return L.SHARE_UPDATE_EXCLUSIVE
    elif s == AT.AT_DetachPartition:
        return _detach(cmd, node, t, rep, st)
    elif s in SRE_SUBCOMMANDS:
        _effect(rep, t, CATALOG)
        return L.SHARE_ROW_EXCLUSIVE
    elif s in (AT.AT_SetRelOptions, AT.AT_ResetRelOptions):
        _effect(rep, t, CATALOG)
        names = [f"{d.defnamespace}.{d.defname}" if d.defnamespace else d.defname
                 for d in cmd.def_]
        if all(_sue_reloption(n) for n in names):
            return L.SHARE_UPDATE_EXCLUSIVE
    elif s in REWRITING_SUBCOMMANDS:
        _effect(rep, t, REWRITE)
        if existing:
            _finding(rep, "MG024", Severity.MEDIUM, f"ALTER TABLE {t} "
                     f"{s.name.removeprefix('AT_')} rewrites the table under ACCESS EXCLUSIVE",
                     "The whole table is copied while reads and writes wait. Copy it online "
                     "instead (logical replication into a new table, or pg_repack with "
                     "--tablespace).", relation=t)
    else:
        _effect(rep, t, CATALOG)
    return L.ACCESS_EXCLUSIVE


def _detach(cmd: Any, node: Any, t: str, rep: StatementReport, st: _State) -> str:
    part = relname(cmd.def_.name)
    _effect(rep, t, CATALOG)
    if cmd.def_.concurrent:
        _add(rep, part, L.SHARE_UPDATE_EXCLUSIVE, "partition",
             "the second internal transaction takes ACCESS EXCLUSIVE on the partition")
        if st.version < 140000:
            _finding(rep, "MG002", Severity.HIGH, "DETACH PARTITION CONCURRENTLY needs 14+",
                     "A syntax error before PostgreSQL 14.")
        if st.in_tx:
            _finding(rep, "MG002", Severity.HIGH, "DETACH PARTITION CONCURRENTLY inside a "
                     "transaction block", "It fails inside a transaction block.",
                     _stmt(rep) + ";", t)
        return L.SHARE_UPDATE_EXCLUSIVE
    _add(rep, part, L.ACCESS_EXCLUSIVE, "partition")
    if st.version >= 140000 and st.existing(t):
        cmd.def_.concurrent = True
        safe = R.deparse(node) + ";"
        cmd.def_.concurrent = False
        _finding(rep, "MG022", Severity.MEDIUM, f"DETACH PARTITION {part} without CONCURRENTLY",
                 f"Takes ACCESS EXCLUSIVE on the partitioned table {t}: every query on it "
                 "waits. CONCURRENTLY (14+, outside a transaction block, no DEFAULT partition) "
                 "takes SHARE UPDATE EXCLUSIVE.", safe, t,
                 rewrite_locks={t: L.SHARE_UPDATE_EXCLUSIVE, part: L.ACCESS_EXCLUSIVE})
    return L.ACCESS_EXCLUSIVE


def _add_column(cd: Any, t: str, rep: StatementReport, st: _State, existing: bool) -> None:
    col = cd.colname
    ts = typespec(cd.typeName)
    st.columns.setdefault(t, {})[col] = ts
    default: Any = None
    not_null = bool(cd.is_not_null)
    reason = None
    for c in cd.constraints or ():
        if c.contype == ConstrType.CONSTR_DEFAULT:
            default = c.raw_expr
        elif c.contype == ConstrType.CONSTR_NOTNULL:
            not_null = True
        elif c.contype in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
            not_null = not_null or c.contype == ConstrType.CONSTR_PRIMARY
            rep.caveats.append("ADD COLUMN ... PRIMARY KEY/UNIQUE also builds a unique index "
                               "under ACCESS EXCLUSIVE")
            _effect(rep, t, BUILD)
        elif c.contype == ConstrType.CONSTR_IDENTITY:
            reason = "an identity column is filled for every existing row"
        elif c.contype == ConstrType.CONSTR_GENERATED:
            if c.generated_when == "v" or getattr(c, "generated_kind", "s") == "v":
                rep.caveats.append("a virtual generated column (18+): no rewrite")
            else:
                reason = "a stored generated column is computed for every row"
        elif c.contype == ConstrType.CONSTR_FOREIGN:
            _add(rep, relname(c.pktable), L.SHARE_ROW_EXCLUSIVE, "referenced table")
        elif c.contype == ConstrType.CONSTR_CHECK:
            rep.caveats.append("a column CHECK constraint is validated by scanning the table")
            _effect(rep, t, SCAN)
    serial = cd.typeName.names[-1].sval.lower() in SERIAL_TYPES
    if serial:
        reason = "serial's default nextval() is volatile: every row is written"
        not_null = True
    if default is not None and reason is None:
        verdict = volatility(default, st.schema.functions)
        if st.version < 110000:
            reason = "before PostgreSQL 11 any DEFAULT rewrites the table"
        elif verdict == "volatile":
            reason = "the DEFAULT is volatile, so it is evaluated for every row"
        elif verdict == "unknown":
            rep.unknown.append("the DEFAULT calls a function whose volatility is unknown "
                               "offline: no rewrite if it is STABLE or IMMUTABLE")
    if reason:
        _effect(rep, t, REWRITE)
        if existing:
            sequence = serial or reason.startswith("an id")
            if default is None and not sequence:
                _finding(rep, "MG004", Severity.MEDIUM,
                         f"ADD COLUMN {t}.{col} rewrites the table",
                         f"{reason}; the table and its indexes are rewritten under ACCESS "
                         "EXCLUSIVE (reads and writes wait). There is no online form: a plain "
                         "column filled by a trigger and a batched backfill can replace it, "
                         "or run it off-peak.", relation=t, columns=(col,))
                return
            safe = _add_column_safely(t, col, ts, default, sequence, not_null, st)
            _finding(rep, "MG004", Severity.MEDIUM, f"ADD COLUMN {t}.{col} rewrites the table",
                     f"{reason}; the table and its indexes are rewritten under ACCESS "
                     "EXCLUSIVE (reads and writes wait). Add it without the default, set the "
                     "default for new rows, backfill in batches"
                     + (", then prove NOT NULL with a validated CHECK." if not_null else "."),
                     safe, t, (col,), {t: L.ACCESS_EXCLUSIVE})
        return
    if not_null and default is None and existing:
        _effect(rep, t, SCAN)
        tq = R.qualified(t)
        _finding(rep, "MG005", Severity.HIGH, f"ADD COLUMN {t}.{col} NOT NULL without a DEFAULT",
                 "It fails on a non-empty table (existing rows would be NULL). Give it a "
                 "constant DEFAULT (no rewrite from 11), or add it nullable, backfill it, and "
                 "prove NOT NULL with a validated CHECK.",
                 f"ALTER TABLE {tq} ADD COLUMN {ident(col)} {ts};\n"
                 f"-- backfill {col} for every row here, then:\n"
                 + R.not_null_steps(t, col), t, (col,), {t: L.ACCESS_EXCLUSIVE})
        return
    _effect(rep, t, CATALOG)
    if default is not None and st.version >= 110000:
        rep.caveats.append("11+: a non-volatile DEFAULT is stored in the catalog "
                           "(pg_attribute.attmissingval); no rewrite")


def _add_column_safely(t: str, col: str, ts: TypeSpec, default: Any, sequence: bool,
                       not_null: bool, st: _State) -> str:
    tq, cq = R.qualified(t), ident(col)
    steps = [f"ALTER TABLE {tq} ADD COLUMN {cq} {ts};"]
    if sequence:
        seq = R.qualified(".".join([*t.split(".")[:-1], index_name(R.bare(t), [col], "seq")]))
        steps.append(f"CREATE SEQUENCE {seq} OWNED BY {tq}.{cq};")
        value = f"nextval({literal(seq)})"
    else:
        value = R.deparse(default)
    steps.append(f"ALTER TABLE {tq} ALTER COLUMN {cq} SET DEFAULT {value};")
    steps.append(R.batched_update(t, f"{cq} = {value}", f"{cq} IS NULL"))
    if not_null and st.version >= 120000:
        steps.append(R.not_null_steps(t, col))
    return "\n".join(steps)


def _alter_type(cmd: Any, t: str, rep: StatementReport, st: _State, existing: bool) -> None:
    col = cmd.name
    cd = cmd.def_
    new = typespec(cd.typeName)
    old = st.coltype(t, col)
    using = cd.raw_default
    trivial = using is None or _is_column(using, col) or (
        isinstance(using, ast.TypeCast) and _is_column(using.arg, col))
    verdict: bool | None
    if old is None:
        verdict, why = None, (f"the old type of {t}.{col} is unknown offline: a rewrite unless "
                              "binary coercible (varchar(n) to varchar(m>n) or text, "
                              "numeric(p,s) to numeric(p2>p,s), cidr to inet)")
        rep.unknown.append(why)
    else:
        verdict, why = binary_coercible(old, new, st.schema.timezone_utc, st.version)
        if not trivial:
            verdict, why = False, "a USING expression that changes the value forces a rewrite"
        st.columns.setdefault(t, {})[col] = new
    rep.caveats.append(why)
    if verdict is True:
        _effect(rep, t, CATALOG)
        rep.caveats.append("indexes on the column may still be rebuilt unless provably "
                           "equivalent (text <-> varchar are not)")
        return
    _effect(rep, t, REWRITE)
    if verdict is None:
        rep.effects[t] = "rewrite (unless binary coercible)"
    if not existing:
        return
    type_sql = R.deparse(cd.typeName)
    conversion = using if using is not None else ast.TypeCast(
        arg=ast.ColumnRef(fields=(ast.String(sval=col),)), typeName=cd.typeName)
    row = R.deparse(conversion)
    on_new = R.deparse(_prefix_columns(conversion, "new"))
    _finding(rep, "MG006", Severity.MEDIUM,
             f"ALTER COLUMN {t}.{col} TYPE {new} "
             + ("rewrites the table" if verdict is False else "may rewrite the table"),
             f"{why}. A rewrite copies the table and rebuilds its indexes under ACCESS "
             "EXCLUSIVE (reads and writes wait). Instead: a new column kept in sync by a "
             "trigger, a batched backfill, then a brief swap of the names.",
             R.shadow_column_swap(t, col, type_sql, row, on_new), t, (col,),
             {t: L.ACCESS_EXCLUSIVE})


def _is_column(node: Any, col: str) -> bool:
    return (isinstance(node, ast.ColumnRef)
            and getattr((node.fields or ())[-1], "sval", None) == col)


def _prefix_columns(node: Any, prefix: str) -> Any:
    """A copy of an expression with every column reference read from record `prefix`."""
    if isinstance(node, ast.ColumnRef):
        return ast.ColumnRef(fields=(ast.String(sval=prefix), (node.fields or ())[-1]))
    if isinstance(node, ast.Node):
        cls: Any = type(node)
        return cls(**{attr: _prefix_columns(getattr(node, attr), prefix) for attr in node})
    if isinstance(node, tuple | list):
        return tuple(_prefix_columns(x, prefix) for x in node)
    return node


def _set_not_null(col: str, t: str, rep: StatementReport, st: _State, existing: bool) -> None:
    if (t, col) in st.proven_not_null and st.version >= 120000:
        _effect(rep, t, CATALOG)
        rep.caveats.append("12+: a valid CHECK (col IS NOT NULL) proves the column, no scan")
        return
    _effect(rep, t, SCAN)
    if not existing:
        return
    if st.version >= 120000:
        safe = R.not_null_steps(t, col)
        detail = ("The whole table is read to prove there are no NULLs while reads and writes "
                  "wait. From 12 a validated CHECK (col IS NOT NULL) proves it instead: the "
                  "CHECK is validated under SHARE UPDATE EXCLUSIVE (traffic continues) and "
                  "SET NOT NULL then skips the scan.")
        locks = {t: L.ACCESS_EXCLUSIVE}
    else:
        safe = R.with_lock_timeout(_stmt(rep))
        detail = ("The whole table is read while reads and writes wait; before 12 a CHECK "
                  "constraint does not spare the scan: run it off-peak with a lock_timeout.")
        locks = {t: L.ACCESS_EXCLUSIVE}
    _finding(rep, "MG007", Severity.MEDIUM,
             f"SET NOT NULL on {t}.{col} scans the table under ACCESS EXCLUSIVE", detail,
             safe, t, (col,), locks)


def _validate(name: str, t: str, rep: StatementReport, st: _State) -> None:
    _effect(rep, t, SCAN)
    pk = st.fk_constraints.get((t, name))
    if pk:
        _add(rep, pk, L.ROW_SHARE, "referenced table")
        _effect(rep, pk, SCAN)
    elif not st.schema.known:
        rep.caveats.append("if this is a foreign key, the referenced table also gets ROW "
                           "SHARE (and is read)")
    cols = st.not_valid_checks.get((t, name))
    if cols:
        st.proven_not_null.update((t, c) for c in cols)


def _add_constraint(con: Any, node: Any, t: str, rep: StatementReport, st: _State,
                    existing: bool) -> None:
    name = con.conname or "(unnamed)"
    ct = con.contype
    if ct == ConstrType.CONSTR_FOREIGN:
        _add_foreign_key(con, node, name, t, rep, st, existing)
    elif ct == ConstrType.CONSTR_CHECK:
        cols = _not_null_cols(con.raw_expr)
        if con.skip_validation:
            st.not_valid_checks[(t, name)] = cols
            _effect(rep, t, CATALOG)
            return
        st.proven_not_null.update((t, c) for c in cols)
        _effect(rep, t, SCAN)
        if existing:
            _finding(rep, "MG009", Severity.MEDIUM,
                     f"ADD CHECK {name} scans {t} under ACCESS EXCLUSIVE",
                     "Every row is checked while reads and writes wait. Add it NOT VALID "
                     "(new rows are checked at once), then VALIDATE under SHARE UPDATE "
                     "EXCLUSIVE.", _not_valid_then_validate(con, node, t, name), t,
                     rewrite_locks={t: L.ACCESS_EXCLUSIVE})
    elif ct in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE,
                ConstrType.CONSTR_EXCLUSION):
        _add_unique(con, t, rep, existing)
    elif ct == ConstrType.CONSTR_NOTNULL:
        _effect(rep, t, CATALOG if con.skip_validation else SCAN)
    else:
        _effect(rep, t, CATALOG)


def _not_valid_then_validate(con: Any, node: Any, t: str, name: str) -> str:
    con.skip_validation = True
    added = R.deparse(node)
    con.skip_validation = False
    if con.conname:
        return (f"{added};\n"
                f"ALTER TABLE {R.qualified(t)} VALIDATE CONSTRAINT {ident(con.conname)};")
    return f"{added};\n-- then VALIDATE CONSTRAINT it by the name PostgreSQL gave it"


def _add_foreign_key(con: Any, node: Any, name: str, t: str, rep: StatementReport,
                     st: _State, existing: bool) -> None:
    pk = relname(con.pktable)
    st.fk_constraints[(t, name)] = pk
    _add(rep, pk, L.SHARE_ROW_EXCLUSIVE, "referenced table")
    if con.skip_validation:
        _effect(rep, t, CATALOG)
        return
    _effect(rep, t, SCAN)
    _effect(rep, pk, SCAN)
    if existing:
        _finding(rep, "MG008", Severity.MEDIUM,
                 f"ADD FOREIGN KEY {name} validates {t} against {pk} in one step",
                 f"SHARE ROW EXCLUSIVE on both {t} and {pk} (writes to both wait) while every "
                 f"row of {t} is checked. Add it NOT VALID (brief), then VALIDATE: SHARE "
                 f"UPDATE EXCLUSIVE on {t} and ROW SHARE on {pk}, writes continue.",
                 _not_valid_then_validate(con, node, t, name), t,
                 rewrite_locks={t: L.SHARE_ROW_EXCLUSIVE, pk: L.SHARE_ROW_EXCLUSIVE})


def _add_unique(con: Any, t: str, rep: StatementReport, existing: bool) -> None:
    ct = con.contype
    kind = {ConstrType.CONSTR_PRIMARY: "PRIMARY KEY", ConstrType.CONSTR_UNIQUE: "UNIQUE",
            ConstrType.CONSTR_EXCLUSION: "EXCLUDE"}[ct]
    if con.indexname:
        _effect(rep, t, CATALOG)
        if ct == ConstrType.CONSTR_PRIMARY:
            rep.caveats.append("PRIMARY KEY USING INDEX runs SET NOT NULL on its columns: a "
                               "scan unless they are already NOT NULL")
        return
    _effect(rep, t, BUILD)
    if not existing or ct == ConstrType.CONSTR_EXCLUSION:
        return
    keys = [k.sval for k in con.keys or ()]
    suffix = "pkey" if ct == ConstrType.CONSTR_PRIMARY else "key"
    idx = con.conname or index_name(R.bare(t), keys, suffix)
    tq = R.qualified(t)
    safe = (f"CREATE UNIQUE INDEX CONCURRENTLY {ident(idx)} ON {tq} "
            f"({R.columns_list(keys)});\n"
            + R.with_lock_timeout(f"ALTER TABLE {tq} ADD CONSTRAINT {ident(idx)} {kind} "
                                  f"USING INDEX {ident(idx)}"))
    _finding(rep, "MG010", Severity.MEDIUM, f"ADD {kind} on {t} builds its index under ACCESS "
             "EXCLUSIVE",
             "The unique index is built while reads and writes wait (worse than CREATE INDEX, "
             "which lets reads go on). Build it CONCURRENTLY, then attach it with USING INDEX "
             "(catalog only" + (", plus SET NOT NULL's scan unless the columns are NOT NULL"
                                if ct == ConstrType.CONSTR_PRIMARY else "") + ").",
             safe, t, tuple(keys), {t: L.ACCESS_EXCLUSIVE})


def _not_null_cols(expr: Any) -> list[str]:
    """Columns a CHECK expression proves NOT NULL (`col IS NOT NULL [AND ...]`)."""
    if isinstance(expr, ast.NullTest) and expr.nulltesttype is not None \
            and expr.nulltesttype.name == "IS_NOT_NULL" and isinstance(expr.arg, ast.ColumnRef):
        return [str((expr.arg.fields or ())[-1].sval)]
    if isinstance(expr, ast.BoolExpr) and expr.boolop is not None \
            and expr.boolop.name == "AND_EXPR":
        return [c for a in expr.args or () for c in _not_null_cols(a)]
    return []


def _lock_timeout_rule(node: Any, rep: StatementReport, st: _State) -> None:
    """MG015: a lock that blocks traffic taken without a lock_timeout (it can queue)."""
    if st.lock_timeout_set or any(f.code == "MG017" for f in rep.findings):
        return
    risky = [lk for lk in rep.locks if L.blocks_traffic(lk.mode) and st.existing(lk.relation)
             and not lk.relation.startswith("(") and lk.mode != L.ROW_EXCLUSIVE]
    if not risky:
        return
    lk = max(risky, key=lambda x: L.LOCK_RANK[x.mode])
    severity = Severity.MEDIUM if lk.mode == L.ACCESS_EXCLUSIVE else Severity.LOW
    _finding(rep, "MG015", severity, f"no lock_timeout before {lk.mode} on {lk.relation}",
             "If the lock is not granted at once (a long transaction holds a conflicting "
             "lock), the statement waits in the lock queue, and every later query on "
             f"{lk.relation} that conflicts with {lk.mode} ({L.blocked_traffic(lk.mode)}) "
             "queues behind it. Take it with a short lock_timeout and retry.",
             R.with_lock_timeout(_stmt(rep)), lk.relation,
             rewrite_locks=rep.strongest())


def _transactions(reports: list[StatementReport], assume_in_tx: bool
                  ) -> tuple[list[list[HeldLock]], list[Finding]]:
    """MG019: locks are released only at COMMIT, so a transaction holds them all."""
    groups: list[list[StatementReport]] = []
    cur: list[StatementReport] | None = [] if assume_in_tx else None
    for r in reports:
        if r.command == "transaction control":
            if r.sql.lower().startswith(("begin", "start")):
                if cur:
                    groups.append(cur)
                cur = []
            elif cur is not None and not assume_in_tx:
                groups.append(cur)
                cur = None
            continue
        if cur is not None and not r.command.startswith("SET "):
            cur.append(r)
    if cur:
        groups.append(cur)
    held_all: list[list[HeldLock]] = []
    findings: list[Finding] = []
    for group in groups:
        held: dict[str, HeldLock] = {}
        for r in group:
            for lk in r.locks:
                h = held.get(lk.relation)
                if h is None:
                    held[lk.relation] = HeldLock(lk.relation, lk.mode, r.index)
                else:
                    h.mode = L.stronger(h.mode, lk.mode)
        if len(group) < 2:
            continue
        held_all.append(list(held.values()))
        finding = _held_finding(group, held)
        if finding is not None:
            findings.append(finding)
    return held_all, findings


def _held_finding(group: list[StatementReport], held: dict[str, HeldLock]) -> Finding | None:
    problems = [f"{h.mode} on {h.relation} (from statement {h.acquired_at + 1}) is held while "
                f"statement {r.index + 1} ({r.command}: {r.effect}) runs"
                for r in group if r.slow for h in held.values()
                if h.acquired_at < r.index and L.blocks_traffic(h.mode)
                and h.mode != L.ROW_EXCLUSIVE and not h.relation.startswith("(")]
    strong = [h.relation for h in held.values() if h.mode == L.ACCESS_EXCLUSIVE
              and not h.relation.startswith("(")]
    if not problems and len(strong) < 2:
        return None
    detail = "; ".join(problems[:6])
    if len(strong) > 1:
        detail += ("; " if detail else "") + (
            f"ACCESS EXCLUSIVE on {', '.join(strong)} is held together until COMMIT (a "
            "deadlock risk against sessions that lock them in another order)")
    first, last = group[0], group[-1]
    return Finding("MG019", Severity.MEDIUM,
                   f"one transaction holds locks across statements {first.index + 1} to "
                   f"{last.index + 1} (lines {first.line}-{last.line})",
                   "Locks are kept until COMMIT. " + detail + ". Split the migration: one "
                   "short transaction per blocking statement, each with a lock_timeout; run "
                   "the slow steps (CONCURRENTLY builds, VALIDATE, backfills) outside the "
                   "transaction that holds ACCESS EXCLUSIVE.",
                   relation=strong[0] if strong else None)


_HANDLERS: dict[type, Any] = {
    ast.TransactionStmt: _transaction, ast.VariableSetStmt: _set,
    ast.CreateStmt: _create_table, ast.IndexStmt: _create_index, ast.DropStmt: _drop,
    ast.AlterTableStmt: _alter_table, ast.RenameStmt: _rename, ast.VacuumStmt: _vacuum,
    ast.ClusterStmt: _cluster, ast.ReindexStmt: _reindex, ast.CreateTrigStmt: _create_trigger,
    ast.AlterEnumStmt: _alter_enum, ast.TruncateStmt: _truncate, ast.UpdateStmt: _dml,
    ast.DeleteStmt: _dml, ast.InsertStmt: _insert, ast.LockStmt: _lock_stmt,
    ast.RefreshMatViewStmt: _refresh,
}
