"""CF001: pg_stat_statements is not available, so statement-level analysis is blind."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import literal
from pgsage.rules.base import NoOptions, Rule, register

EXTENSION = "pg_stat_statements"


MIN_VERSION = (1, 9)


BLIND = ("Without it pgsage cannot see which statements run, how often and how slowly, so "
         "the index advisor and every query rule have nothing to work on.")


def preload_list(value: str) -> list[str]:
    """shared_preload_libraries as a list: comma-separated, entries optionally double-quoted."""
    row = next(csv.reader([value], skipinitialspace=True), [])
    return [entry.strip() for entry in row if entry.strip()]


def version(text: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in (text or "").split(".") if p.isdigit())


@register
class PgStatStatementsMissing(Rule[NoOptions]):
    """pg_stat_statements is not loaded, not created, too old or not readable.

    What it detects:
        The statements collector did not run. The finding says which step is missing:
        the library is not in shared_preload_libraries, the extension is not created in
        this database, the extension is older than 1.9, or reading it failed (privilege,
        timeout). A collector that was not run at all (switched off) gives no finding.

    Why it matters:
        pg_stat_statements is where PostgreSQL counts every statement's calls, time, rows
        and I/O. Without it pgsage (and any DBA) cannot tell which queries cost the most,
        the index advisor has no workload, and query rules cannot run.

    Example:
        shared_preload_libraries = ''      -- pg_stat_statements not loaded

    What to do:
        When the library is not preloaded: add it with ALTER SYSTEM (the existing libraries
        are kept), restart PostgreSQL, then CREATE EXTENSION pg_stat_statements in the
        database. On a managed service (RDS, Cloud SQL, Azure) set the parameter in the
        parameter group or flags instead. When it is preloaded: CREATE EXTENSION. When it
        is too old: ALTER EXTENSION pg_stat_statements UPDATE. pgsage itself never creates
        or changes anything in the watched database.
    References:
        https://www.postgresql.org/docs/current/pgstatstatements.html
    """

    code: ClassVar[str] = "CF001"
    name: ClassVar[str] = "config.pg_stat_statements_missing"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.HIGH
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if "statements" not in model.snapshot.status:
            return  # not run at all: switched off, not failed
        reason = model.skipped_reason("statements")
        if reason is None:
            return
        # Unknown when whether the extension exists was not read either (a session that
        # died early): the report lists both sources as skipped, never a false "create it".
        if not model.collected("extensions"):
            return
        setting = model.setting("shared_preload_libraries")
        libraries = preload_list(setting) if setting is not None else None
        preloaded = (EXTENSION in libraries if libraries is not None
                     else "shared_preload_libraries" not in reason)
        ext = model.extensions.get(EXTENSION)
        evidence = {"reason": reason, "shared_preload_libraries": setting,
                    "installed_version": ext.installed_version if ext else None}
        if not preloaded:
            yield self._not_preloaded(libraries or [], reason, evidence,
                                      available=ext.available if ext else True)
        elif ext is None or ext.installed_version is None:
            yield self.finding(
                title="Create the pg_stat_statements extension in this database",
                detail=f"pg_stat_statements is loaded (shared_preload_libraries) but the "
                       f"extension is not created in this database ({reason}). {BLIND} "
                       "CREATE EXTENSION takes effect at once, without a restart.",
                object=ObjectRef(),
                action=Action(sql=f"CREATE EXTENSION IF NOT EXISTS {EXTENSION};",
                              undo_sql=f"DROP EXTENSION IF EXISTS {EXTENSION};"),
                evidence=evidence,
                benefit=1e12,
            )
        elif version(ext.installed_version) < MIN_VERSION:
            yield self.finding(
                title=f"Update pg_stat_statements {ext.installed_version} (pgsage needs 1.9+)",
                detail=f"The pg_stat_statements extension is version {ext.installed_version}; "
                       f"pgsage reads version 1.9 and later ({reason}). {BLIND} "
                       f"ALTER EXTENSION ... UPDATE moves it to the version the server ships "
                       f"({ext.default_version or 'the default'}), without a restart.",
                object=ObjectRef(),
                action=Action(sql=f"ALTER EXTENSION {EXTENSION} UPDATE;"),
                evidence=evidence,
                benefit=1e12,
            )
        else:
            yield self.finding(
                severity=Severity.MEDIUM,
                title="pg_stat_statements could not be read",
                detail=f"pg_stat_statements is loaded and created, but reading it failed: "
                       f"{reason}. {BLIND} Grant pg_monitor (which includes "
                       "pg_read_all_stats) to the role pgsage connects as, or raise its "
                       "statement_timeout if the view is slow to read.",
                object=ObjectRef(),
                evidence=evidence,
                benefit=1e12,
            )

    def _not_preloaded(self, libraries: list[str], reason: str, evidence: Mapping[str, object],
                       available: bool) -> Recommendation:
        wanted = [*libraries, EXTENSION]
        values = ", ".join(literal(lib) for lib in wanted)
        restore = ", ".join(literal(lib) for lib in libraries) if libraries else "''"
        kept = (f" The libraries already loaded ({', '.join(libraries)}) are kept."
                if libraries else "")
        missing = ("" if available else
                   " The extension's files are not installed on the server either: install "
                   "the PostgreSQL contrib package for this version first (Debian: "
                   "postgresql-contrib, RHEL: postgresqlNN-contrib).")
        return self.finding(
            title="Load pg_stat_statements: add it to shared_preload_libraries and restart",
            detail=f"pg_stat_statements is not in shared_preload_libraries ({reason}). "
                   f"{BLIND} Run the ALTER SYSTEM below as a superuser, restart PostgreSQL "
                   "(the setting is read only at start), then run CREATE EXTENSION "
                   f"pg_stat_statements in this database.{kept}{missing} On a managed "
                   "service, set shared_preload_libraries in the parameter group or flags "
                   "instead of ALTER SYSTEM.",
            object=ObjectRef(),
            action=Action(
                sql=f"ALTER SYSTEM SET shared_preload_libraries = {values};\n"
                    "-- then restart PostgreSQL, and in this database run:\n"
                    f"-- CREATE EXTENSION IF NOT EXISTS {EXTENSION};",
                undo_sql=f"ALTER SYSTEM SET shared_preload_libraries = {restore};",
            ),
            evidence=dict(evidence),
            benefit=1e12,
        )
