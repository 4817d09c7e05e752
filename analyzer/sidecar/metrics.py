"""Every metric pgsage exposes, and the one prometheus-client Collector that exposes them.

`SPECS` is the single list of metric families: name, type, labels, meaning and the
postgres_exporter metric with the same meaning where one exists. `docs/metrics.md` is
generated from it (a test keeps them in step).

Scrapes never touch the database. After each job the sidecar turns a target's state into
rows (`analyzer.sidecar.samples`), and `publish()` turns the rows into prometheus-client
samples and their text once. `PgsageCollector.collect()` yields fresh families built from the
latest published samples; `render()` serves the same bytes `generate_latest` would, from the
per-target text made at publish time, because formatting tens of thousands of samples on
each scrape costs seconds in Python.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.samples import Sample

from pgsage.analyzer import __version__

FROM_SNAPSHOT = "Value from the last scheduled snapshot, not read at scrape time."

T = ("target",)
TC = ("target", "collector")
TG = ("target", "group")
TD = ("target", "database")
STATEMENT = ("target", "database", "user", "queryid", "toplevel")
TABLE = ("target", "schema", "table")
INDEX = ("target", "schema", "table", "index")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    """Family name; counters are exposed with `_total` appended."""
    kind: str
    labels: tuple[str, ...]
    help: str
    snapshot: bool = True
    """True when the value comes from a scheduled snapshot (HELP says so)."""
    exporter: str | None = None
    """The postgres_exporter metric with the same meaning, if any."""

    @property
    def exposed(self) -> str:
        return f"{self.name}_total" if self.kind == "counter" else self.name

    @property
    def documentation(self) -> str:
        return f"{self.help} {FROM_SNAPSHOT}" if self.snapshot else self.help


def _own(name: str, kind: str, labels: tuple[str, ...], text: str,
         exporter: str | None = None) -> MetricSpec:
    return MetricSpec(name, kind, labels, text, snapshot=False, exporter=exporter)


SPECS: tuple[MetricSpec, ...] = (
    # --- pgsage's own health ------------------------------------------------------------
    _own("pgsage_build_info", "gauge", ("version", "python_version"),
         "Always 1; labels give pgsage's version and the Python it runs on."),
    _own("pgsage_up", "gauge", T,
         "1 when pgsage holds a working connection to the target, 0 otherwise.", "pg_up"),
    _own("pgsage_target_down_info", "gauge", ("target", "reason"),
         "1 while the target is down; reason is one of connecting, unreachable, "
         "authentication, no_database, too_many_connections, starting_up, timeout, "
         "connection_lost, server_error, configuration, error."),
    _own("pgsage_connection_attempts", "counter", T,
         "Connections pgsage tried to open to the target."),
    _own("pgsage_connection_failures", "counter", T,
         "Connection attempts that failed."),
    _own("pgsage_connections_lost", "counter", T,
         "Open connections that broke (terminated backend, restart, client deadline)."),
    _own("pgsage_collector_success", "gauge", TC,
         "1 when the collector's last run succeeded, 0 when it failed or was skipped.",
         "pg_scrape_collector_success"),
    _own("pgsage_collector_duration_seconds", "gauge", TC,
         "How long the collector's last run took.", "pg_scrape_collector_duration_seconds"),
    _own("pgsage_collector_rows", "gauge", TC,
         "Rows (records) the collector's last successful run returned."),
    _own("pgsage_collector_last_success_timestamp_seconds", "gauge", TC,
         "Unix time of the collector's last successful run."),
    _own("pgsage_collector_error_info", "gauge", ("target", "collector", "reason"),
         "1 for a collector whose last run failed; reason is one of skipped, "
         "insufficient_privilege, missing_object, lock_timeout, statement_timeout, timeout, "
         "deadline, connection_lost, target_down, error."),
    _own("pgsage_cycles", "counter", TG, "Scheduled runs of the group's job."),
    _own("pgsage_cycle_failures", "counter", TG,
         "Runs in which the target was down or at least one collector failed."),
    _own("pgsage_cycle_overruns", "counter", TG,
         "Runs that took longer than their interval or deadline, or were skipped because "
         "the previous run was still going."),
    _own("pgsage_cycle_duration_seconds", "gauge", TG,
         "How long the group's last run took, waiting for the connection included."),
    _own("pgsage_last_successful_cycle_timestamp_seconds", "gauge", T,
         "Unix time of the last run that reached the target."),
    _own("pgsage_parse_failures", "counter", T,
         "Statements the workload model could not parse (truncated or unsupported text)."),
    _own("pgsage_stats_resets", "counter", ("target", "kind"),
         "Counter resets pgsage detected and kept out of its rates; kind is restart, "
         "statements (pg_stat_statements_reset) or database (pg_stat_reset)."),
    _own("pgsage_window_seconds", "gauge", T,
         "Time the rolling window covers now (0 until there are two snapshots)."),
    _own("pgsage_analysis_duration_seconds", "gauge", T,
         "How long the last pass over the window took (metrics, and rules when they ran)."),
    _own("pgsage_rules_duration_seconds", "gauge", T,
         "How long the rules took the last time they ran; rules run after a cycle unless "
         "that would take them over schedule.rules_budget of one core on average."),
    _own("pgsage_analysis_last_timestamp_seconds", "gauge", T,
         "Unix time of the last pass over the window."),
    # --- server -------------------------------------------------------------------------
    MetricSpec("pgsage_server_info", "gauge", ("target", "version", "server_version_num"),
               "Always 1; labels give the server version.", exporter="pg_static"),
    MetricSpec("pgsage_server_start_time_seconds", "gauge", T,
               "Unix time the postmaster started.", exporter="pg_postmaster_start_time_seconds"),
    MetricSpec("pgsage_in_recovery", "gauge", T, "1 on a standby (in recovery), 0 on a primary."),
    MetricSpec("pgsage_role_has_pg_monitor", "gauge", T,
               "1 when pgsage's role has pg_monitor (or is a superuser); without it other "
               "roles' statements and backends are hidden and some collectors fail."),
    MetricSpec("pgsage_setting_max_connections", "gauge", T, "The max_connections setting.",
               exporter="pg_settings_max_connections"),
    MetricSpec("pgsage_setting_autovacuum_freeze_max_age", "gauge", T,
               "The autovacuum_freeze_max_age setting (transactions).",
               exporter="pg_settings_autovacuum_freeze_max_age"),
    # --- databases ----------------------------------------------------------------------
    MetricSpec("pgsage_database_connections", "gauge", ("target", "database", "state"),
               "Client backends by database and state (pgsage's own excluded).",
               exporter="pg_stat_activity_count"),
    MetricSpec("pgsage_database_oldest_transaction_age_seconds", "gauge", TD,
               "Age of the oldest open transaction in the database (0 when none).",
               exporter="pg_stat_activity_max_tx_duration"),
    MetricSpec("pgsage_database_oldest_xmin_age", "gauge", TD,
               "Transactions since the oldest snapshot (backend_xmin) a backend of the "
               "database holds; what keeps vacuum from removing dead rows."),
    MetricSpec("pgsage_database_xid_age", "gauge", TD,
               "age(datfrozenxid): transactions since the database was last fully frozen; "
               "wraparound protection starts at autovacuum_freeze_max_age, shutdown near 2^31.",
               exporter="pg_database_wraparound_age_datfrozenxid_seconds (a count, despite "
                        "its name)"),
    MetricSpec("pgsage_database_mxid_age", "gauge", TD, "mxid_age(datminmxid).",
               exporter="pg_database_wraparound_age_datminmxid_seconds"),
    MetricSpec("pgsage_database_size_bytes", "gauge", TD, "pg_database_size of each database.",
               exporter="pg_database_size_bytes"),
    MetricSpec("pgsage_database_transactions", "counter", ("target", "database", "outcome"),
               "Transactions of the target's database; outcome is commit or rollback.",
               exporter="pg_stat_database_xact_commit, pg_stat_database_xact_rollback"),
    MetricSpec("pgsage_database_shared_hit_bytes", "counter", TD,
               "Reads served from shared buffers (blks_hit * block size).",
               exporter="pg_stat_database_blks_hit (in blocks)"),
    MetricSpec("pgsage_database_shared_read_bytes", "counter", TD,
               "Reads that missed shared buffers (blks_read * block size; may hit the OS cache).",
               exporter="pg_stat_database_blks_read (in blocks)"),
    MetricSpec("pgsage_database_cache_hit_ratio", "gauge", TD,
               "Share of reads served from shared buffers over the rolling window (since the "
               "last statistics reset until the window has two snapshots)."),
    MetricSpec("pgsage_database_temp_bytes", "counter", TD,
               "Bytes written to temporary files by queries.",
               exporter="pg_stat_database_temp_bytes"),
    MetricSpec("pgsage_database_temp_files", "counter", TD, "Temporary files created.",
               exporter="pg_stat_database_temp_files"),
    MetricSpec("pgsage_database_deadlocks", "counter", TD, "Deadlocks detected.",
               exporter="pg_stat_database_deadlocks"),
    # --- statements (top N) ---------------------------------------------------------------
    MetricSpec("pgsage_statements_tracked", "gauge", T,
               "Entries pg_stat_statements holds for the target's database."),
    MetricSpec("pgsage_statements_exported", "gauge", T,
               "Statements exported with per-statement series (at most 2 * metrics.top_n)."),
    MetricSpec("pgsage_statements_evicted", "counter", T,
               "Entries pg_stat_statements evicted for lack of room (pg_stat_statements_info."
               "dealloc); raise pg_stat_statements.max when this grows."),
    MetricSpec("pgsage_statement_calls", "counter", STATEMENT, "Times the statement ran.",
               exporter="pg_stat_statements_calls_total"),
    MetricSpec("pgsage_statement_exec_seconds", "counter", STATEMENT,
               "Time spent executing the statement.", exporter="pg_stat_statements_seconds_total"),
    MetricSpec("pgsage_statement_plan_seconds", "counter", STATEMENT,
               "Time spent planning the statement (needs pg_stat_statements.track_planning)."),
    MetricSpec("pgsage_statement_rows", "counter", STATEMENT,
               "Rows the statement returned or affected.",
               exporter="pg_stat_statements_rows_total"),
    MetricSpec("pgsage_statement_shared_hit_bytes", "counter", STATEMENT,
               "Shared buffer hits (shared_blks_hit * block size)."),
    MetricSpec("pgsage_statement_shared_read_bytes", "counter", STATEMENT,
               "Shared buffer misses (shared_blks_read * block size)."),
    MetricSpec("pgsage_statement_temp_read_bytes", "counter", STATEMENT,
               "Temporary file reads (temp_blks_read * block size)."),
    MetricSpec("pgsage_statement_temp_written_bytes", "counter", STATEMENT,
               "Temporary file writes (temp_blks_written * block size): sorts and hashes "
               "that spilled past work_mem."),
    # --- tables and indexes (bounded) -----------------------------------------------------
    MetricSpec("pgsage_table_seq_scans", "counter", TABLE, "Sequential scans of the table.",
               exporter="pg_stat_user_tables_seq_scan"),
    MetricSpec("pgsage_table_seq_tuples_read", "counter", TABLE,
               "Rows read by sequential scans.", exporter="pg_stat_user_tables_seq_tup_read"),
    MetricSpec("pgsage_table_index_scans", "counter", TABLE,
               "Index scans on the table (all its indexes).",
               exporter="pg_stat_user_tables_idx_scan"),
    MetricSpec("pgsage_table_live_tuples", "gauge", TABLE, "Estimated live rows.",
               exporter="pg_stat_user_tables_n_live_tup"),
    MetricSpec("pgsage_table_dead_tuples", "gauge", TABLE, "Estimated dead rows.",
               exporter="pg_stat_user_tables_n_dead_tup"),
    MetricSpec("pgsage_table_size_bytes", "gauge", TABLE,
               "pg_table_size: heap, TOAST, free space and visibility maps (no indexes)."),
    MetricSpec("pgsage_table_last_autovacuum_timestamp_seconds", "gauge", TABLE,
               "Unix time autovacuum last vacuumed the table (absent if never).",
               exporter="pg_stat_user_tables_last_autovacuum"),
    MetricSpec("pgsage_index_scans", "counter", INDEX, "Scans that used the index.",
               exporter="pg_stat_user_indexes_idx_scan"),
    MetricSpec("pgsage_index_size_bytes", "gauge", INDEX, "Size of the index.",
               exporter="pg_stat_user_indexes_size_bytes"),
    # --- advice ---------------------------------------------------------------------------
    MetricSpec("pgsage_findings", "gauge", ("target", "rule", "category", "severity"),
               "Findings of the last rules pass by rule, category and severity."),
    MetricSpec("pgsage_recommendation_benefit", "gauge",
               ("target", "id", "rule", "category", "severity", "object"),
               "Estimated benefit the rule assigned to a recommendation (unitless, larger is "
               "better; what ranks recommendations of the same severity); top "
               "metrics.top_recommendations only. id is stable while the recommendation is "
               "the same; GET /recommendations has the details."),
)

BY_NAME: Mapping[str, MetricSpec] = {s.name: s for s in SPECS}

Rows = dict[str, list[tuple[tuple[str, ...], float]]]
"""Family name -> (label values in the spec's order, value)."""


def new_family(spec: MetricSpec) -> CounterMetricFamily | GaugeMetricFamily:
    if spec.kind == "counter":
        return CounterMetricFamily(spec.name, spec.documentation, labels=spec.labels)
    return GaugeMetricFamily(spec.name, spec.documentation, labels=spec.labels)


class _One:
    """A collector of one family, to render it with prometheus-client."""

    def __init__(self, family: Metric) -> None:
        self.family = family

    def collect(self) -> Iterable[Metric]:
        yield self.family


def _header(spec: MetricSpec) -> str:
    return generate_latest(_One(new_family(spec))).decode()


HEADERS: Mapping[str, bytes] = {s.name: _header(s).encode() for s in SPECS}


@dataclass(frozen=True)
class Published:
    """One target's (or the process's) samples, and their exposition text, per family."""

    samples: Mapping[str, list[Sample]] = field(default_factory=dict)
    text: Mapping[str, bytes] = field(default_factory=dict)
    """The exposition lines of each family (without HELP and TYPE), encoded once."""


def publish(rows: Rows) -> Published:
    """Samples and text for rows, formatted once by prometheus-client."""
    samples: dict[str, list[Sample]] = {}
    text: dict[str, bytes] = {}
    for name, entries in rows.items():
        if not entries:
            continue
        spec = BY_NAME[name]
        family = new_family(spec)
        for labels, value in entries:
            family.add_metric(list(labels), float(value))
        samples[name] = family.samples
        text[name] = generate_latest(_One(family))[len(HEADERS[name]):]
    return Published(samples, text)


def build_rows() -> Rows:
    return {"pgsage_build_info": [((__version__, platform.python_version()), 1.0)]}


class PgsageCollector:
    """The prometheus-client Collector of every pgsage metric.

    `source` returns the latest Published parts (process, then each target's); it is the only
    input, so neither `describe()` nor `collect()` can reach a database.
    """

    def __init__(self, source: Callable[[], Sequence[Published]]) -> None:
        self.source = source
        self._rendered: tuple[list[Published], bytes] | None = None

    def describe(self) -> Iterator[Metric]:
        for spec in SPECS:
            yield new_family(spec)

    def collect(self) -> Iterator[Metric]:
        parts = self.source()
        for spec in SPECS:
            family = new_family(spec)
            for part in parts:
                family.samples.extend(part.samples.get(spec.name, ()))
            yield family

    def render(self) -> bytes:
        """What `generate_latest` makes of `collect()`, from text made at publish time.

        Published parts are immutable, so when every part is the one of the last scrape
        the last body is served again.
        """
        parts = list(self.source())
        cached = self._rendered
        if cached is not None and len(cached[0]) == len(parts) and all(
                a is b for a, b in zip(cached[0], parts, strict=True)):
            return cached[1]
        out: list[bytes] = []
        for spec in SPECS:
            out.append(HEADERS[spec.name])
            out.extend(part.text.get(spec.name, b"") for part in parts)
        body = b"".join(out)
        self._rendered = (parts, body)
        return body


SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pgsage's own health", ("pgsage_build_info", "pgsage_up", "pgsage_target_",
                             "pgsage_connection", "pgsage_collector_", "pgsage_cycle",
                             "pgsage_last_", "pgsage_parse_", "pgsage_stats_resets",
                             "pgsage_window_", "pgsage_analysis_", "pgsage_rules_")),
    ("Server", ("pgsage_server_", "pgsage_in_recovery", "pgsage_role_", "pgsage_setting_")),
    ("Databases", ("pgsage_database_",)),
    ("Statements (top N)", ("pgsage_statement",)),
    ("Tables and indexes (bounded)", ("pgsage_table_", "pgsage_index_")),
    ("Advice", ("pgsage_findings", "pgsage_recommendation_")),
)

DOC_INTRO = """\
# pgsage metrics

Generated from `analyzer/sidecar/metrics.py` (`python -m pgsage.analyzer.sidecar.metrics >
docs/metrics.md`); a test fails when this page and the code disagree.

`pgsage serve` exposes these on `GET /metrics` (default `http://127.0.0.1:9816/metrics`).
A scrape never touches the database: values come from the last scheduled snapshot of each
collector group (HELP says so), or from pgsage's own bookkeeping.

- Names follow Prometheus conventions: base units (`_seconds`, `_bytes`), `_total` for
  counters. Block counts of PostgreSQL are exported as bytes (blocks times the server's
  `block_size`, 8192 unless compiled otherwise).
- Counters are PostgreSQL's cumulative values: use `rate()`/`increase()`. A reset
  (`pg_stat_reset()`, `pg_stat_statements_reset()`, a restart, an evicted statement) looks
  like any counter reset to Prometheus; `pgsage_stats_resets_total` tells which happened.
- Every series has a `target` label: the target's configured `name`, or `host:port/dbname`
  of its DSN (never a user name or a password).
- Cardinality is bounded. Statements: an entry joins when it ranks in the top
  `metrics.top_n` (default 50) by execution time over the rolling window and stays until
  it falls out of the top 2 x `top_n` or leaves pg_stat_statements, so at most 2 x `top_n`
  statements per target have series and membership does not churn from one cycle to the
  next. Tables: the union of the top `metrics.top_tables` (default 25) by rows read by
  sequential scans over the window and by dead rows, each with the same hysteresis.
  Indexes: the top `metrics.top_indexes` (default 25) by size and by scans over the
  window. Recommendations: the first `metrics.top_recommendations` (default 50).
- Statements are labelled by `queryid` (and `toplevel`, because with
  `pg_stat_statements.track = all` one queryid has a top-level and a nested entry), never by
  query text; `GET /recommendations` and `pgsage analyze` show texts.
- The "postgres_exporter" column names the metric of prometheus-community/postgres_exporter
  with the same meaning, for side-by-side comparison (mind the units noted there).
"""


def markdown() -> str:
    """docs/metrics.md."""
    out = [DOC_INTRO]
    for title, prefixes in SECTIONS:
        out.append(f"\n## {title}\n\n| metric | type | labels | meaning | postgres_exporter |\n"
                   "|---|---|---|---|---|\n")
        for spec in SPECS:
            if not spec.name.startswith(prefixes):
                continue
            if title != SECTIONS[0][0] and spec.name.startswith(SECTIONS[0][1]):
                continue
            meaning = spec.help + (" *From the last snapshot.*" if spec.snapshot else "")
            labels = ", ".join(f"`{label}`" for label in spec.labels)
            exporter = f"`{spec.exporter}`" if spec.exporter and " " not in spec.exporter \
                else (spec.exporter or "-")
            out.append(f"| `{spec.exposed}` | {spec.kind} | {labels} | {meaning} | "
                       f"{exporter} |\n")
    out.append("\nAlso on `/metrics`: prometheus-client's `process_*` metrics of the pgsage "
               "process itself (resident memory, CPU seconds, open file descriptors).\n")
    return "".join(out)


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown())
