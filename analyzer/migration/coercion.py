"""Which column type changes skip the table rewrite, and which defaults are volatile.

ALTER COLUMN TYPE keeps the table when the change is binary coercible and does not check
values (ALTER TABLE notes; verified on 15 and 18 by relfilenode): varchar(n) to a longer
varchar or text, numeric(p,s) to numeric(p2>=p,s), cidr to inet, more fractional precision.
timestamp <-> timestamptz skips it from 12 only when the session TimeZone is UTC.
ADD COLUMN ... DEFAULT rewrites from 11 only when the default is volatile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql

TYPE_ALIASES = {"character varying": "varchar", "int": "int4", "integer": "int4",
                "bigint": "int8", "smallint": "int2", "character": "bpchar", "char": "bpchar",
                "timestamp with time zone": "timestamptz", "timestamp without time zone":
                "timestamp", "decimal": "numeric", "boolean": "bool", "serial": "int4",
                "bigserial": "int8", "smallserial": "int2", "real": "float4",
                "double precision": "float8", "bit varying": "varbit",
                "time without time zone": "time", "time with time zone": "timetz",
                "serial4": "int4", "serial8": "int8", "serial2": "int2"}
SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial", "serial4", "serial8", "serial2"})


@dataclass(frozen=True)
class TypeSpec:
    name: str
    """The canonical pg_type name: varchar, numeric, int4 ..."""
    mods: tuple[int, ...] = ()
    """Type modifier arguments as written; () is unconstrained."""
    array: bool = False

    def __str__(self) -> str:
        text = self.name + (f"({','.join(map(str, self.mods))})" if self.mods else "")
        return text + ("[]" if self.array else "")


def typespec(type_name: Any) -> TypeSpec:
    """The TypeSpec of a pglast TypeName node."""
    name = TYPE_ALIASES.get(type_name.names[-1].sval.lower(), type_name.names[-1].sval.lower())
    mods = tuple(int(m.val.ival or 0) for m in type_name.typmods or ()
                 if isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer))
    return TypeSpec(name, mods, bool(type_name.arrayBounds))


def typespec_from_text(text: str) -> TypeSpec:
    """The TypeSpec of a type as `format_type()` prints it (`character varying(100)`)."""
    stmt: Any = parse_sql(f"CREATE TABLE _x (_c {text})")[0].stmt
    return typespec(stmt.tableElts[0].typeName)


VOLATILE_FUNCS = frozenset({"random", "clock_timestamp", "timeofday", "gen_random_uuid",
                            "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
                            "uuidv4", "uuidv7", "nextval", "txid_current",
                            "pg_current_xact_id", "setseed"})
NON_VOLATILE_FUNCS = frozenset({"now", "statement_timestamp", "transaction_timestamp",
                                "current_date", "lower", "upper", "coalesce", "concat", "md5",
                                "to_jsonb", "jsonb_build_object", "json_build_object",
                                "array_length", "length", "abs", "round", "current_setting",
                                "to_char", "to_timestamp", "make_interval", "timezone",
                                "date_trunc"})


def volatility(node: Any, known: dict[str, str] | None = None) -> str:
    """`non-volatile`, `volatile` or `unknown` for a raw default expression.

    `known` maps function names to pg_proc.provolatile ('i', 's', 'v'), read with a DSN;
    offline only the functions listed above are known.
    """
    verdict = "non-volatile"
    known = known or {}

    def walk(n: Any) -> None:
        nonlocal verdict
        if isinstance(n, ast.FuncCall):
            fname = str((n.funcname or ())[-1].sval).lower()
            looked_up = known.get(fname)
            if fname in VOLATILE_FUNCS or looked_up == "v":
                verdict = "volatile"
            elif (fname not in NON_VOLATILE_FUNCS and looked_up is None
                  and verdict != "volatile"):
                verdict = "unknown"
        if isinstance(n, ast.SQLValueFunction):
            return
        if isinstance(n, ast.Node):
            for attr in n:
                walk(getattr(n, attr))
        elif isinstance(n, tuple | list):
            for x in n:
                walk(x)

    walk(node)
    return verdict


def binary_coercible(old: TypeSpec, new: TypeSpec, timezone_utc: bool | None,
                     version: int) -> tuple[bool | None, str]:
    """Does ALTER COLUMN TYPE old -> new (no USING) keep the table? True, False or unknown."""
    if old.array != new.array:
        return False, "the array-ness changes"
    o, n = old.name, new.name
    if o == n:
        return _same_type(old, new)
    if (o, n) in {("varchar", "text"), ("cidr", "inet"), ("xml", "text"), ("text", "varchar")}:
        if (o, n) == ("text", "varchar") and new.mods:
            return False, "text -> varchar(n) checks every value: rewrite"
        return True, f"{old} -> {new} is binary coercible"
    if {o, n} == {"timestamp", "timestamptz"}:
        if version < 120000:
            return False, "timestamp <-> timestamptz rewrites before PostgreSQL 12"
        if timezone_utc is None:
            return None, ("timestamp <-> timestamptz skips the rewrite only when the session "
                          "TimeZone is UTC (12+); unknown offline")
        return timezone_utc, ("TimeZone is UTC: no rewrite (12+)" if timezone_utc else
                              "TimeZone is not UTC: rewrite")
    return False, f"{old} -> {new} is not binary coercible: table and indexes are rewritten"


def _same_type(old: TypeSpec, new: TypeSpec) -> tuple[bool | None, str]:
    if not new.mods:
        return True, f"{old} -> {new}: removing the type modifier does not rewrite"
    if old.name in ("varchar", "varbit"):
        if old.mods and new.mods[0] >= old.mods[0]:
            return True, f"{old} -> {new}: a longer limit does not rewrite"
        return False, f"{old} -> {new}: a shorter (or newly imposed) limit rewrites"
    if old.name == "numeric":
        if old.mods:
            old_scale = old.mods[1] if len(old.mods) > 1 else 0
            new_scale = new.mods[1] if len(new.mods) > 1 else 0
            if new_scale == old_scale and new.mods[0] >= old.mods[0]:
                return True, f"{old} -> {new}: more precision, same scale, no rewrite"
        return False, f"{old} -> {new}: a scale change or less precision rewrites"
    if old.name in ("timestamp", "timestamptz", "time", "timetz", "interval"):
        if old.mods and new.mods[0] >= old.mods[0]:
            return True, f"{old} -> {new}: more fractional precision does not rewrite"
        return False, f"{old} -> {new}: less precision rewrites"
    if old.mods == new.mods:
        return True, "the same type"
    return False, f"{old} -> {new}: a length change rewrites"
