"""From the live catalog to the target one in steps that are safe by construction.

Expand (new objects, nullable columns, NOT VALID constraints, concurrent indexes), backfill
and validate (batched updates, VALIDATE, NOT NULL proven by a validated CHECK, unique indexes
attached with USING INDEX), contract (drops, once the application no longer uses them). Every
statement that needs ACCESS EXCLUSIVE is catalog-only and taken with a short lock_timeout and
retries; the slow work runs under SHARE UPDATE EXCLUSIVE or in committed batches.

The diff compares names: without `renames` a renamed table or column is a drop plus an add.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pgsage.analyzer.migration import rewrites as R
from pgsage.analyzer.migration.catalog import Catalog, Column, Constraint, Table
from pgsage.analyzer.migration.coercion import binary_coercible, typespec_from_text
from pgsage.analyzer.sqlgen import concurrent_definition, ident

EXPAND, BACKFILL, CONTRACT = "expand", "backfill and validate", "contract"

NOT_COVERED = (
    "renames: a table or column that disappears while another appears is planned as a drop "
    "and an add (its data is lost) unless given with --rename old=new",
    "data migrations: splitting, merging or transforming values, reference data",
    "function bodies and trigger logic: a changed function is replaced, not understood; "
    "callers are not checked",
    "objects not compared: enum and composite types, triggers, policies, grants, owners, "
    "comments, extensions, partitions, publications, tablespaces, server settings",
    "column order: new columns are appended",
    "whether the application works with each intermediate state: expand and contract assume "
    "old and new code both run against the expanded schema",
    "type changes without an implicit cast: the backfill casts with ::type and fails loudly "
    "where a value does not convert",
)


@dataclass
class Step:
    phase: str
    sql: str
    """Runnable: what to execute."""
    statement: str
    """The statement the step is judged by (the SQL inside a retry loop, for instance)."""
    why: str
    order: int = 1
    """Within a phase: 0 before the rest (views dropped), 2 after it (views created)."""


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    table_renames: dict[str, str] = field(default_factory=dict)
    """Live table name -> its name after the renames."""

    def add(self, phase: str, statement: str, why: str, order: int = 1) -> None:
        self.steps.append(Step(phase, statement, statement, why, order))

    def locked(self, phase: str, statement: str, why: str) -> None:
        """A catalog-only step that needs a strong lock: short lock_timeout, retried."""
        self.steps.append(Step(phase, R.with_lock_timeout(statement), statement, why))

    def ordered(self) -> list[Step]:
        rank = {EXPAND: 0, BACKFILL: 1, CONTRACT: 2}
        return sorted(self.steps, key=lambda s: (rank[s.phase], s.order))

    def script(self) -> str:
        out = ["-- pgsage migration plan: run with psql, outside a transaction block",
               "SET check_function_bodies = off;"]
        phase = None
        for s in self.ordered():
            if s.phase != phase:
                out.append(f"\n-- == {s.phase} ==")
                phase = s.phase
            out.append(f"-- {s.why}")
            out.append(s.sql.rstrip(";") + ";")
        return "\n".join(out) + "\n"


def q(name: str) -> str:
    return R.qualified(name)


def parse_renames(items: list[str]) -> dict[str, str]:
    """`old=new` pairs: `table=new_table` or `table.column=new_column` (schema optional)."""
    out = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValueError(f"--rename {item!r}: use old=new (table=new or table.col=new)")
        out[old.strip()] = new.strip()
    return out


def build_plan(live: Catalog, target: Catalog, renames: Mapping[str, str],
               server_version: int) -> Plan:
    plan = Plan()
    live_tables = _apply_renames(live, target, renames, plan)
    _functions(live, target, plan)
    _sequences(live, target, plan)
    retyped: dict[str, set[str]] = {}
    dropped_cols: dict[str, set[str]] = {}
    for name, t in target.tables.items():
        old = live_tables.get(name)
        if old is None:
            _create_table(t, plan)
        else:
            retyped[name], dropped_cols[name] = _alter_table(old, t, plan, server_version)
    new_tables = set(target.tables) - set(live_tables)
    for kinds in ("pucx", "f"):
        for name, t in target.tables.items():
            _constraints(live_tables.get(name), t, name in new_tables,
                         retyped.get(name, set()), plan, kinds)
    _indexes(live, target, retyped, plan)
    _views(live, target, retyped, dropped_cols, plan)
    for name in sorted(set(live_tables) - set(target.tables)):
        plan.locked(CONTRACT, f"DROP TABLE {q(name)}",
                    f"{name} is not in the target (contract: once no code uses it)")
    for name in sorted(set(live.sequences) - set(target.sequences)):
        plan.add(CONTRACT, f"DROP SEQUENCE IF EXISTS {q(name)}",
                 f"sequence {name} is not in the target (IF EXISTS: a dropped owner takes it)")
    return plan


def _apply_renames(live: Catalog, target: Catalog, renames: Mapping[str, str],
                   plan: Plan) -> dict[str, Table]:
    """The live tables as they are after the given renames (which become expand steps)."""
    tables = {name: Table(t.name, dict(t.columns), dict(t.constraints), t.unlogged)
              for name, t in live.tables.items()}

    def table_key(name: str) -> str | None:
        if name in tables:
            return name
        hits = [k for k in tables if k.endswith("." + name)]
        return hits[0] if len(hits) == 1 else None

    def renamed_table_key(name: str) -> str | None:
        key = table_key(name)
        if key is None:
            hits = [v for k, v in plan.table_renames.items()
                    if k == name or k.endswith("." + name)]
            key = hits[0] if len(hits) == 1 else None
        return key

    ordered = sorted(renames.items(), key=lambda kv: table_key(kv[0]) is None)
    for old, new in ordered:
        key = table_key(old)
        if key is not None:
            schema = key.rsplit(".", 1)[0]
            new_key = new if "." in new else f"{schema}.{new}"
            t = tables.pop(key)
            tables[new_key] = Table(new_key, t.columns, t.constraints, t.unlogged)
            plan.table_renames[key] = new_key
            plan.locked(EXPAND, f"ALTER TABLE {q(key)} RENAME TO {ident(R.bare(new_key))}",
                        f"rename table {key} to {new_key} (as told by --rename)")
            continue
        table_part, _, column = old.rpartition(".")
        key = renamed_table_key(table_part) if table_part else None
        if key is None or column not in tables[key].columns:
            plan.warnings.append(f"--rename {old}={new}: no such table or column in the "
                                 "live database")
            continue
        col = tables[key].columns.pop(column)
        tables[key].columns[new] = Column(new, col.type, col.not_null, col.default,
                                          col.identity, col.generated, col.generation)
        plan.locked(EXPAND, f"ALTER TABLE {q(key)} RENAME COLUMN {ident(column)} TO "
                            f"{ident(new)}",
                    f"rename column {key}.{column} to {new} (as told by --rename)")
    return tables


def _functions(live: Catalog, target: Catalog, plan: Plan) -> None:
    for sig, f in target.functions.items():
        old = live.functions.get(sig)
        if old is None or old.definition != f.definition:
            plan.add(EXPAND, f.definition.strip(), f"function {sig} "
                     + ("is new" if old is None else "changed (replaced; its callers are not "
                                                     "checked)"))
    for sig in sorted(set(live.functions) - set(target.functions)):
        plan.add(CONTRACT, f"DROP FUNCTION {sig}", f"function {sig} is not in the target")


def _sequences(live: Catalog, target: Catalog, plan: Plan) -> None:
    for name, s in target.sequences.items():
        old = live.sequences.get(name)
        if old is None:
            plan.add(EXPAND, f"CREATE SEQUENCE {q(name)} {s.definition}",
                     f"sequence {name} is new")
        elif old.definition != s.definition:
            plan.add(EXPAND, f"ALTER SEQUENCE {q(name)} {s.definition}",
                     f"sequence {name} changed")


def _column_sql(c: Column) -> str:
    sql = f"{ident(c.name)} {c.type}"
    if c.generated:
        kind = "STORED" if c.generated == "s" else "VIRTUAL"
        return sql + f" GENERATED ALWAYS AS ({c.generation}) {kind}"
    if c.identity:
        sql += " GENERATED " + ("ALWAYS" if c.identity == "a" else "BY DEFAULT") + \
            " AS IDENTITY"
    if c.default is not None:
        sql += f" DEFAULT {c.default}"
    if c.not_null:
        sql += " NOT NULL"
    return sql


def _create_table(t: Table, plan: Plan) -> None:
    cols = ",\n  ".join(_column_sql(c) for c in t.columns.values())
    unlogged = "UNLOGGED " if t.unlogged else ""
    plan.add(EXPAND, f"CREATE {unlogged}TABLE {q(t.name)} (\n  {cols}\n)",
             f"table {t.name} is new")


def _alter_table(old: Table, new: Table, plan: Plan, version: int
                 ) -> tuple[set[str], set[str]]:
    """Columns added, changed and dropped; returns the retyped and the dropped columns."""
    t = q(new.name)
    retyped: set[str] = set()
    for name, c in new.columns.items():
        was = old.columns.get(name)
        if was is None:
            _add_column(new.name, c, plan)
            continue
        if (was.type != c.type or was.generated != c.generated) \
                and _retype(new.name, was, c, plan, version):
            retyped.add(name)
            was = Column(name, c.type, False, None)
        if was.default != c.default and not c.generated and not c.identity:
            plan.locked(EXPAND, f"ALTER TABLE {t} ALTER COLUMN {ident(name)} "
                        + (f"SET DEFAULT {c.default}" if c.default is not None
                           else "DROP DEFAULT"),
                        f"default of {new.name}.{name} changed (catalog only)")
        if was.identity != c.identity:
            plan.warnings.append(f"{new.name}.{name}: identity changed; not planned")
        if c.not_null and not was.not_null:
            _not_null(new.name, name, plan)
        elif was.not_null and not c.not_null:
            plan.locked(EXPAND, f"ALTER TABLE {t} ALTER COLUMN {ident(name)} DROP NOT NULL",
                        f"{new.name}.{name} becomes nullable (catalog only)")
    dropped = set(old.columns) - set(new.columns)
    for name in sorted(dropped):
        plan.locked(CONTRACT, f"ALTER TABLE {t} DROP COLUMN {ident(name)}",
                    f"{new.name}.{name} is not in the target (contract: once no code reads "
                    "or writes it)")
    return retyped, dropped


def _add_column(table: str, c: Column, plan: Plan) -> None:
    t = q(table)
    if c.generated or c.identity:
        plan.locked(EXPAND, f"ALTER TABLE {t} ADD COLUMN {_column_sql(c)}",
                    f"{table}.{c.name} is new; an identity or generated column is filled for "
                    "every row (a rewrite: run it off-peak)")
        return
    sql = f"ALTER TABLE {t} ADD COLUMN {ident(c.name)} {c.type}"
    volatile_default = c.default is not None and "nextval(" in c.default
    if c.default is not None and not volatile_default:
        sql += f" DEFAULT {c.default}"
    plan.locked(EXPAND, sql, f"{table}.{c.name} is new (catalog only: nullable"
                + (", non-volatile default" if c.default and not volatile_default else "")
                + ")")
    if volatile_default:
        plan.locked(EXPAND, f"ALTER TABLE {t} ALTER COLUMN {ident(c.name)} SET DEFAULT "
                            f"{c.default}", f"default of {table}.{c.name} for new rows")
        plan.add(BACKFILL, R.batched_update(table, f"{ident(c.name)} = {c.default}",
                                            f"{ident(c.name)} IS NULL"),
                 f"backfill {table}.{c.name} in batches")
    if c.not_null:
        if c.default is None:
            plan.warnings.append(f"{table}.{c.name} is NOT NULL without a default: existing "
                                 "rows need a value before VALIDATE succeeds (a data "
                                 "migration the plan cannot write)")
        _not_null(table, c.name, plan)


def _not_null(table: str, column: str, plan: Plan) -> None:
    t, c = q(table), ident(column)
    con = ident(R.not_null_constraint_name(table, column))
    plan.locked(BACKFILL, f"ALTER TABLE {t} ADD CONSTRAINT {con} CHECK ({c} IS NOT NULL) "
                          "NOT VALID", f"{table}.{column} becomes NOT NULL: a CHECK first")
    plan.add(BACKFILL, f"ALTER TABLE {t} VALIDATE CONSTRAINT {con}",
             "validate it under SHARE UPDATE EXCLUSIVE (reads and writes continue)")
    plan.locked(BACKFILL, f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL",
                "SET NOT NULL without a scan: the validated CHECK proves it (12+)")
    plan.locked(BACKFILL, f"ALTER TABLE {t} DROP CONSTRAINT {con}", "the CHECK has done its job")


def _retype(table: str, was: Column, c: Column, plan: Plan, version: int) -> bool:
    """In place when binary coercible; else a shadow column. True when the column is new."""
    t = q(table)
    try:
        ok, why = binary_coercible(typespec_from_text(was.type), typespec_from_text(c.type),
                                   None, version)
    except Exception:
        ok, why = False, "an unusual type"
    if ok:
        plan.locked(EXPAND, f"ALTER TABLE {t} ALTER COLUMN {ident(c.name)} TYPE {c.type}",
                    f"{table}.{c.name}: {why} (catalog only)")
        return False
    cast, on_new = f"{ident(c.name)}::{c.type}", f"NEW.{ident(c.name)}::{c.type}"
    plan.steps.append(Step(
        EXPAND, R.shadow_column_swap(table, c.name, c.type, cast, on_new),
        R.shadow_column_swap(table, c.name, c.type, cast, on_new, retried=False),
        f"{table}.{c.name}: {was.type} -> {c.type} rewrites in place ({why}); a shadow "
        "column, a trigger, a batched backfill and a swap instead"))
    return True


def _constraint_sql(table: str, con: Constraint, not_valid: bool) -> str:
    return (f"ALTER TABLE {q(table)} ADD CONSTRAINT {ident(con.name)} {con.definition}"
            + (" NOT VALID" if not_valid else ""))


def _constraints(old: Table | None, new: Table, is_new: bool, retyped: set[str],
                 plan: Plan, kinds: str) -> None:
    """Constraints of the given kinds; foreign keys go last, after the keys they need."""
    before = dict(old.constraints) if old is not None else {}
    _renamed_constraints(before, new, kinds, plan)
    for name, con in new.constraints.items():
        if con.kind not in kinds:
            continue
        was = before.get(name)
        touched = bool(set(con.columns) & retyped)
        if was == con and not touched:
            continue
        if was is not None and not touched:
            plan.locked(CONTRACT if con.kind in "pux" else EXPAND,
                        f"ALTER TABLE {q(new.name)} DROP CONSTRAINT {ident(name)}",
                        f"constraint {name} on {new.name} changed: drop the old one")
        if is_new and con.kind == "f":
            plan.locked(EXPAND, _constraint_sql(new.name, con, False),
                        f"constraint {name} of the new table {new.name} (SHARE ROW EXCLUSIVE "
                        f"on {con.references}, which is in use)")
        elif is_new:
            plan.add(EXPAND, _constraint_sql(new.name, con, False),
                     f"constraint {name} of the new table {new.name}")
        elif con.kind in ("c", "f"):
            plan.locked(EXPAND if con.kind == "c" else BACKFILL,
                        _constraint_sql(new.name, con, True),
                        f"constraint {name} on {new.name}: NOT VALID first (new rows are "
                        "checked at once)")
            if con.validated:
                plan.add(BACKFILL, f"ALTER TABLE {q(new.name)} VALIDATE CONSTRAINT "
                                   f"{ident(name)}",
                         "validate existing rows under SHARE UPDATE EXCLUSIVE")
        elif con.kind in ("p", "u"):
            kind = "PRIMARY KEY" if con.kind == "p" else "UNIQUE"
            schema = new.name.rsplit(".", 1)[0]
            plan.add(BACKFILL, f"CREATE UNIQUE INDEX CONCURRENTLY {ident(name)} ON "
                               f"{q(new.name)} ({R.columns_list(con.columns)})",
                     f"the unique index of {kind} {name}, built without blocking writes")
            plan.locked(BACKFILL, f"ALTER TABLE {q(new.name)} ADD CONSTRAINT {ident(name)} "
                                  f"{kind} USING INDEX {ident(name)}",
                        f"{kind} {name} from the index (catalog only"
                        + (", plus SET NOT NULL on its columns" if con.kind == "p" else "")
                        + f"; schema {schema})")
        else:
            plan.warnings.append(f"{new.name}: exclusion constraint {name} is added with its "
                                 "index build under ACCESS EXCLUSIVE")
            plan.locked(BACKFILL, _constraint_sql(new.name, con, False),
                        f"exclusion constraint {name}")
    for name in sorted(n for n in set(before) - set(new.constraints)
                       if before[n].kind in kinds):
        plan.locked(CONTRACT, f"ALTER TABLE {q(new.name)} DROP CONSTRAINT {ident(name)}",
                    f"constraint {name} on {new.name} is not in the target")


def _renamed_constraints(before: dict[str, Constraint], new: Table, kinds: str,
                         plan: Plan) -> None:
    """A constraint that only changed its name (a renamed table's `_pkey`) is renamed."""
    for name, con in new.constraints.items():
        if con.kind not in kinds or name in before:
            continue
        same = [n for n, c in before.items() if n not in new.constraints
                and (c.kind, c.definition, c.columns) == (con.kind, con.definition, con.columns)]
        if len(same) == 1:
            old = before.pop(same[0])
            before[name] = Constraint(name, old.kind, old.definition, old.columns,
                                      old.validated, old.references)
            plan.locked(EXPAND, f"ALTER TABLE {q(new.name)} RENAME CONSTRAINT "
                                f"{ident(same[0])} TO {ident(name)}",
                        f"constraint {same[0]} on {new.name} is {name} in the target "
                        "(catalog only)")


def _indexes(live: Catalog, target: Catalog, retyped: Mapping[str, set[str]],
             plan: Plan) -> None:
    for name, ix in target.indexes.items():
        was = live.indexes.get(name)
        touched = bool(set(ix.columns) & retyped.get(ix.table, set()))
        if was is not None and was.definition == ix.definition and not touched:
            continue
        if was is not None and not touched:
            plan.add(BACKFILL, f"DROP INDEX CONCURRENTLY IF EXISTS {q(name)}",
                     f"index {name} changed: drop the old definition")
        plan.add(BACKFILL, concurrent_definition(ix.definition),
                 f"index {name} " + ("is new" if was is None else "is rebuilt")
                 + ", built without blocking writes")
    for name in sorted(set(live.indexes) - set(target.indexes)):
        table = live.indexes[name].table
        if plan.table_renames.get(table, table) in target.tables:
            plan.add(CONTRACT, f"DROP INDEX CONCURRENTLY IF EXISTS {q(name)}",
                     f"index {name} is not in the target")


def _views(live: Catalog, target: Catalog, retyped: Mapping[str, set[str]],
           dropped: Mapping[str, set[str]], plan: Plan) -> None:
    """Changed views and views on a table whose columns are retyped or dropped are dropped
    before the expand steps and created after them; removed views go in the contract."""
    reshaped = {t for t, cols in retyped.items() if cols} | {
        t for t, cols in dropped.items() if cols}
    recreate = set()
    for name, v in live.views.items():
        new = target.views.get(name)
        if new is None:
            plan.add(CONTRACT, f"DROP VIEW IF EXISTS {q(name)}", f"view {name} is not in the "
                     "target", order=0)
        elif new.definition != v.definition or set(v.tables) & reshaped:
            plan.add(EXPAND, f"DROP VIEW IF EXISTS {q(name)}",
                     f"view {name} changed or reads a table being reshaped: recreated after "
                     "the expand steps", order=0)
            recreate.add(name)
    for name, v in target.views.items():
        if name not in live.views or name in recreate:
            plan.add(EXPAND, f"CREATE VIEW {q(name)} AS {v.definition.strip().rstrip(';')}",
                     f"view {name} as in the target", order=2)
