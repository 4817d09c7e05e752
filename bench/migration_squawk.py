"""squawk and `pgsage migration check` side by side: which statements each flags, and why.

    pip install -e '.[bench]'            # squawk-cli, the migration linter compared with
    git clone https://github.com/sbdchd/squawk /tmp/squawk
    python bench/migration_squawk.py --squawk-docs /tmp/squawk/docs/docs [--pg-version 15]

Inputs: every ```sql block of squawk's rule documentation (its own examples, read from a
checkout, not copied here) and pgsage's own rule cases below (one unsafe and one safe form per
MG rule). Both tools run offline on each snippet for the same PostgreSQL version. squawk's
style rules (prefer-bigint, prefer-identity, prefer-text-field, require-statement-timeout,
prefer-robust-stmts, identifier-too-long, ...) are left out: they are about taste, not about
locks. The table says where the tools agree, where pgsage is stricter or looser, and why.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from pgsage.analyzer.migration.analysis import MigrationParseError, analyze_sql

STYLE_RULES = frozenset({
    "prefer-bigint-over-int", "prefer-bigint-over-smallint", "prefer-identity",
    "prefer-text-field", "prefer-robust-stmts", "require-statement-timeout",
    "identifier-too-long", "ban-char-field", "require-table-schema", "prefer-timestamptz",
    "require-enum-value-ordering", "ban-duplicate-column-assignments",
    "require-timeout-settings", "prefer-timestamp-tz"})

EQUIVALENT = {
    "adding-field-with-default": {"MG004"},
    "adding-foreign-key-constraint": {"MG008"},
    "adding-not-nullable-field": {"MG007", "MG005"},
    "adding-required-field": {"MG005"},
    "adding-serial-primary-key-field": {"MG004", "MG010"},
    "ban-concurrent-index-creation-in-transaction": {"MG002"},
    "ban-drop-column": {"MG012"},
    "ban-drop-table": {"MG021"},
    "ban-truncate-cascade": {"MG020"},
    "changing-column-type": {"MG006"},
    "constraint-missing-not-valid": {"MG008", "MG009", "MG010"},
    "disallowed-unique-constraint": {"MG010"},
    "renaming-column": {"MG011"},
    "renaming-table": {"MG011"},
    "require-concurrent-index-creation": {"MG001"},
    "require-concurrent-index-deletion": {"MG003"},
    "require-concurrent-partition-detach": {"MG022"},
    "require-concurrent-reindex": {"MG016"},
    "require-lock-timeout": {"MG015", "MG017"},
    "prefer-repack": {"MG013"},
}
"""squawk rule -> the pgsage codes that say the same thing."""

WHY = {
    "require-lock-timeout": "squawk asks for lock_timeout before every lock, including SHARE "
                            "UPDATE EXCLUSIVE (CONCURRENTLY, VALIDATE); pgsage only where the "
                            "lock blocks reads or writes queued behind it",
    "changing-column-type": "pgsage knows binary-coercible changes keep the table (varchar "
                            "longer or to text, numeric precision up, cidr to inet)",
    "adding-field-with-default": "pgsage treats non-volatile defaults as catalog-only (11+) "
                                 "and volatile ones as rewrites",
    "constraint-missing-not-valid": "squawk flags a VALIDATE in the same transaction as its "
                                    "NOT VALID; pgsage reports the transaction's held locks "
                                    "(MG019) instead",
    "ban-drop-database": "pgsage does not judge DROP DATABASE (not a schema migration step)",
    "ban-drop-not-null": "DROP NOT NULL is catalog-only; pgsage leaves it to MG015",
    "transaction-nesting": "pgsage does not lint transaction nesting",
    "ban-uncommitted-transaction": "pgsage does not lint a missing COMMIT",
    "ban-drop-view": "pgsage does not judge DROP VIEW / FUNCTION / CONSTRAINT beyond their "
                     "lock (MG015)",
    "ban-drop-function": "pgsage does not judge DROP VIEW / FUNCTION / CONSTRAINT beyond "
                         "their lock (MG015)",
    "ban-drop-constraint": "pgsage does not judge DROP VIEW / FUNCTION / CONSTRAINT beyond "
                           "their lock (MG015)",
    "renaming-object": "an index rename is invisible to clients; pgsage lets it pass",
    "ban-drop-table": "pgsage exempts tables created earlier in the same file",
    "adding-serial-primary-key-field": "pgsage reports the unique index build (MG010)",
    "syntax-error": "pglast (PostgreSQL's grammar) rejects it as well: exit 2 with file:line",
    "MG014": "squawk has no rule for UPDATE/DELETE of a whole table",
    "MG019": "squawk does not follow locks held across statements of a transaction",
    "MG013": "VACUUM FULL / CLUSTER",
    "MG016": "REINDEX without CONCURRENTLY",
    "MG015": "a lock that blocks traffic taken without lock_timeout where squawk did not ask",
    "MG007": "SET NOT NULL scans under ACCESS EXCLUSIVE",
    "MG017": "CREATE TRIGGER takes SHARE ROW EXCLUSIVE",
    "MG020": "TRUNCATE without CASCADE",
    "MG025": "another ACCESS EXCLUSIVE ALTER that scans or rewrites",
}

OWN_CASES = [
    ("MG001", "CREATE INDEX i ON users (qty);", "CREATE INDEX CONCURRENTLY i ON users (qty);"),
    ("MG002", "BEGIN;\nCREATE INDEX CONCURRENTLY i ON users (qty);\nCOMMIT;",
     "CREATE INDEX CONCURRENTLY i ON users (qty);"),
    ("MG003", "DROP INDEX users_name_idx;", "DROP INDEX CONCURRENTLY users_name_idx;"),
    ("MG004", "ALTER TABLE users ADD COLUMN c timestamptz DEFAULT clock_timestamp();",
     "ALTER TABLE users ADD COLUMN c timestamptz DEFAULT now();"),
    ("MG005", "ALTER TABLE users ADD COLUMN c int NOT NULL;",
     "ALTER TABLE users ADD COLUMN c int NOT NULL DEFAULT 0;"),
    ("MG006", "ALTER TABLE users ALTER COLUMN qty TYPE bigint;",
     "CREATE TABLE t (v varchar(10));\nALTER TABLE t ALTER COLUMN v TYPE varchar(20);"),
    ("MG007", "ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
     "ALTER TABLE users ADD CONSTRAINT c CHECK (name IS NOT NULL) NOT VALID;\n"
     "ALTER TABLE users VALIDATE CONSTRAINT c;\n"
     "ALTER TABLE users ALTER COLUMN name SET NOT NULL;"),
    ("MG008", "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id);",
     "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id) NOT VALID;"),
    ("MG009", "ALTER TABLE users ADD CONSTRAINT c CHECK (qty > 0);",
     "ALTER TABLE users ADD CONSTRAINT c CHECK (qty > 0) NOT VALID;"),
    ("MG010", "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);",
     "ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email_uq;"),
    ("MG011", "ALTER TABLE users RENAME COLUMN name TO full_name;",
     "ALTER INDEX users_name_idx RENAME TO users_name_i;"),
    ("MG012", "ALTER TABLE users DROP COLUMN qty;", "ALTER TABLE users ADD COLUMN qty2 int;"),
    ("MG013", "VACUUM FULL users;", "VACUUM users;"),
    ("MG014", "UPDATE users SET qty = 0;", "UPDATE users SET qty = 0 WHERE id < 1000;"),
    ("MG015", "ALTER TABLE users ADD COLUMN c int;",
     "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN c int;"),
    ("MG016", "REINDEX TABLE users;", "REINDEX TABLE CONCURRENTLY users;"),
    ("MG017", "CREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION f();",
     "SET lock_timeout = '2s';\n"
     "CREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION f();"),
    ("MG019", "BEGIN;\nALTER TABLE users ADD COLUMN c int;\n"
              "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id);\n"
              "COMMIT;",
     "BEGIN;\nALTER TABLE users ADD COLUMN c int;\nCOMMIT;"),
    ("MG020", "TRUNCATE users;", "CREATE TABLE t (a int);\nTRUNCATE t;"),
    ("MG021", "DROP TABLE users;", "CREATE TABLE t (a int);\nDROP TABLE t;"),
    ("MG022", "ALTER TABLE meas DETACH PARTITION meas_1;",
     "ALTER TABLE meas DETACH PARTITION meas_1 CONCURRENTLY;"),
]


def squawk_examples(docs: Path) -> dict[str, str]:
    out = {}
    for md in sorted(docs.glob("*.md")):
        for i, block in enumerate(re.findall(r"```sql\n(.*?)```", md.read_text(), re.S), 1):
            out[f"squawk/{md.stem}#{i}"] = block
    return out


def own_examples() -> dict[str, str]:
    out = {}
    for code, bad, good in OWN_CASES:
        out[f"pgsage/{code}-unsafe"] = bad
        out[f"pgsage/{code}-safe"] = good
    return out


def run_squawk(binary: str, snippets: dict[str, str], pg_version: int) -> dict[str, set[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for i, (name, sql) in enumerate(snippets.items()):
            p = Path(tmp) / f"{i:04d}.sql"
            p.write_text(sql)
            paths[str(p)] = name
        done = subprocess.run([binary, "--reporter", "json", f"--pg-version={pg_version}.0",
                               *paths], capture_output=True, text=True, timeout=300)
        found: dict[str, set[str]] = {name: set() for name in snippets}
        for v in json.loads(done.stdout or "[]"):
            rule = v["rule_name"]
            if rule not in STYLE_RULES:
                found[paths[v["file"]]].add(rule)
        return found


def run_pgsage(snippets: dict[str, str], pg_version: int) -> dict[str, set[str]]:
    out = {}
    for name, sql in snippets.items():
        try:
            out[name] = set(analyze_sql(sql, pg_version * 10000, path=name).codes())
        except MigrationParseError:
            out[name] = {"syntax-error"}
    return out


def verdict(squawk: set[str], pgsage: set[str], sql: str) -> tuple[str, str]:
    if not squawk and not pgsage:
        return "neither", ""
    if "squawk-ignore" in sql and pgsage - {"MG015"}:
        return "pgsage stricter", "squawk-ignore comments silence squawk; pgsage has none"
    said = set().union(*(EQUIVALENT.get(r, set()) for r in squawk)) if squawk else set()
    extra_p = {c for c in pgsage if c not in said and c != "syntax-error"}
    missed = {r for r in squawk if not (EQUIVALENT.get(r, set()) & pgsage)
              and not (r == "syntax-error" and "syntax-error" in pgsage)}
    if not extra_p and not missed:
        return "agree", ""
    reasons = [WHY[r] for r in sorted(missed) if r in WHY] + \
        [WHY[c] for c in sorted(extra_p) if c in WHY]
    if missed and extra_p:
        kind = "differ"
    elif missed:
        kind = "pgsage looser"
    else:
        kind = "pgsage stricter"
    return kind, "; ".join(dict.fromkeys(reasons))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--squawk-docs", type=Path, required=True,
                    help="docs/docs of a squawk checkout (the rule pages)")
    ap.add_argument("--squawk", default=shutil.which("squawk") or "squawk")
    ap.add_argument("--pg-version", type=int, default=15)
    args = ap.parse_args()
    snippets = {**squawk_examples(args.squawk_docs), **own_examples()}
    version = subprocess.run([args.squawk, "--version"], capture_output=True,
                             text=True).stdout.strip()
    sq = run_squawk(args.squawk, snippets, args.pg_version)
    pg = run_pgsage(snippets, args.pg_version)
    rows = [(name, sq[name], pg[name], *verdict(sq[name], pg[name], sql))
            for name, sql in snippets.items()]
    print(f"{version} and pgsage on {len(snippets)} snippets, PostgreSQL {args.pg_version}\n")
    print("| snippet | squawk | pgsage | verdict | why |\n|---|---|---|---|---|")
    for name, s, p, v, why in rows:
        print(f"| {name} | {', '.join(sorted(s)) or '-'} | {', '.join(sorted(p)) or '-'} | "
              f"{v} | {why} |")
    print()
    for source in ("squawk", "pgsage"):
        tally = Counter(v for name, _, _, v, _ in rows if name.startswith(source + "/"))
        print(f"{source} examples: " + ", ".join(f"{k} {n}" for k, n in tally.most_common()))
    flagged_s = sum(1 for _, s, _, _, _ in rows if s)
    flagged_p = sum(1 for _, _, p, _, _ in rows if p)
    both = sum(1 for _, s, p, _, _ in rows if s and p)
    print(f"flagged: squawk {flagged_s}, pgsage {flagged_p}, both {both} of {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
