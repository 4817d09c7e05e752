"""deploy/: the Prometheus rules and config pass promtool, and every PromQL expression of the
Grafana dashboard and of the alert rules works against a real Prometheus scraping a real
`pgsage serve`.

Needs Debian's `prometheus` package (`prometheus` and `promtool` on PATH); skipped without it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sidecar_support import fetch, parse, value, wait_for

from pgsage.analyzer.app.throwaway import ThrowawayServer, embedded_bin_dir, free_port

pytestmark = pytest.mark.subprocess  # promtool, prometheus and pgsage serve

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PROM_DIR = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboard.json"

# What the test puts in place of Grafana's variables before sending an expression.
GRAFANA_VARIABLES = {
    "$__rate_interval": "30s",
    "$__interval": "5s",
    "$__range": "1m",
    "$target": ".*",
}

# Dashboard expressions allowed to return nothing on the healthy test database, with why.
# Empty on purpose: the expressions that can legitimately be empty use `or vector(0)`.
MAY_BE_EMPTY: dict[str, str] = {}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package `prometheus`)")
    return path


def _promtool(*args: str, cwd: Path = PROM_DIR,
              stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([_tool("promtool"), *args], cwd=cwd, input=stdin, capture_output=True,
                          timeout=60)


def _output(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stdout.decode() + done.stderr.decode()


# --- promtool on the files -------------------------------------------------------------------


def test_alert_rules_check() -> None:
    done = _promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, _output(done)


def test_alert_rules_unit_tests() -> None:
    done = _promtool("test", "rules", "alerts_test.yml")
    assert done.returncode == 0, _output(done)
    assert "SUCCESS" in _output(done)


def test_prometheus_config_check() -> None:
    done = _promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, _output(done)


def alert_names() -> list[str]:
    """The alerts of alerts.yml (read without a YAML library: one `- alert: Name` per rule)."""
    return re.findall(r"^\s*- alert:\s*(\S+)\s*$", (PROM_DIR / "alerts.yml").read_text(), re.M)


def dashboard_expressions() -> list[tuple[str, str]]:
    """(panel title, expression) for every query of the dashboard, rows' panels included."""
    doc = json.loads(DASHBOARD.read_text())
    out: list[tuple[str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((panel.get("title", "?"), target["expr"]))
            walk(panel.get("panels", []))

    walk(doc["panels"])
    for variable in doc.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if isinstance(query, str) and query:
            out.append((f"variable {variable['name']}", query))
    return out


def test_dashboard_is_consistent() -> None:
    doc = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    expressions = dashboard_expressions()
    assert len(expressions) >= 20
    documented = set(re.findall(r"`(pgsage_\w+)`", (ROOT / "docs" / "metrics.md").read_text()))
    for _, expr in expressions:
        for name in re.findall(r"\b(pgsage_\w+)", expr):
            assert name in documented, f"{name} (in {expr}) is not in docs/metrics.md"
    for name in re.findall(r"\b(pgsage_\w+)", (PROM_DIR / "alerts.yml").read_text()):
        if "{" not in name:
            assert name in documented, f"alerts.yml uses {name}, not in docs/metrics.md"


# --- a live stack: throwaway PostgreSQL, `pgsage serve`, Prometheus ----------------------------


class Workload:
    """Queries in a thread, so rates, mean times and temp spills have something to show."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                i = 0
                while not self.stop.is_set():
                    i += 1
                    conn.execute("SELECT count(*) FROM deploy_items WHERE note LIKE '%7%'")
                    conn.execute("SELECT * FROM deploy_items WHERE id = %s", (i % 5000 + 1,))
                    with conn.transaction():
                        conn.execute("SET LOCAL work_mem = '64kB'")
                        conn.execute("SELECT count(*) FROM (SELECT note FROM deploy_items"
                                     " ORDER BY note OFFSET 0) spill")
                    self.stop.wait(0.1)
        except BaseException as exc:  # reported by the fixture
            self.error = exc

    def __enter__(self) -> Workload:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    prometheus = _tool("prometheus")
    _tool("promtool")
    bin_dir = embedded_bin_dir()
    if not (bin_dir / "postgres").exists():
        pytest.skip("no embedded PostgreSQL binaries")
    tmp = Path(tempfile.mkdtemp(prefix="pgsage-deploy-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with ThrowawayServer(bin_dir) as server:
            server.psql("""
                CREATE EXTENSION pg_stat_statements;
                CREATE TABLE deploy_items (id int PRIMARY KEY, note text);
                INSERT INTO deploy_items SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
                ANALYZE deploy_items;
            """)
            pgsage_port = free_port()
            (tmp / "pgsage.toml").write_text(f"""
[serve]
listen = "127.0.0.1:{pgsage_port}"
shutdown_grace = "3s"

[[targets]]
name = "deploy"
dsn = "{server.dsn()}"

[intervals]
activity = "1s"
statements = "1s"
tables = "1s"
schema = "2s"
advice = "30s"
""")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PGSAGE_"))}
            with (tmp / "pgsage.log").open("w") as log:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "pgsage.analyzer", "serve", "--config",
                     str(tmp / "pgsage.toml")], cwd=ROOT, env=env, stdout=log,
                    stderr=subprocess.STDOUT))
            pgsage = f"http://127.0.0.1:{pgsage_port}"

            # Prometheus: the deploy/ scrape job and rules, at test speed.
            prom_port = free_port()
            shutil.copy(PROM_DIR / "alerts.yml", tmp / "alerts.yml")
            (tmp / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: pgsage
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: ["127.0.0.1:{pgsage_port}"]
""")
            with (tmp / "prometheus.log").open("w") as log:
                procs.append(subprocess.Popen(
                    [prometheus, f"--config.file={tmp / 'prometheus.yml'}",
                     f"--storage.tsdb.path={tmp / 'data'}",
                     f"--web.listen-address=127.0.0.1:{prom_port}"],
                    cwd=tmp, stdout=log, stderr=subprocess.STDOUT))
            prom = f"http://127.0.0.1:{prom_port}"
            with Workload(server.dsn()) as workload:
                try:
                    wait_for(lambda: fetch(f"{prom}/-/ready")[0] == 200, 30, "Prometheus ready")
                    wait_for(lambda: value(parse(fetch(f"{pgsage}/metrics")[2].decode()),
                                           "pgsage_collector_success",
                                           collector="statements") == 1,
                             30, "pgsage collecting statements")
                except AssertionError:
                    logs = "\n".join(p.read_text()[-3000:] for p in
                                     (tmp / "pgsage.log", tmp / "prometheus.log"))
                    raise AssertionError(f"the stack did not start:\n{logs}") from None
                yield {"pgsage": pgsage, "prometheus": prom}
                assert workload.error is None, workload.error
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def query(prom: str, expr: str) -> dict[str, Any]:
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, _, body = fetch(url)
    doc: dict[str, Any] = json.loads(body)
    doc["http_status"] = status
    return doc


@pytest.mark.pg  # the stack starts a server of its own
def test_promtool_check_metrics(stack: dict[str, str]) -> None:
    status, _, body = fetch(f"{stack['pgsage']}/metrics")
    assert status == 200
    done = _promtool("check", "metrics", stdin=body)
    assert done.returncode == 0, _output(done)


@pytest.mark.pg
def test_dashboard_and_alert_queries(stack: dict[str, str]) -> None:
    prom = stack["prometheus"]

    def scraped() -> bool:
        # A few scrapes of pgsage with statements, tables and advice in them: enough for rate().
        result = query(prom, 'count_over_time(pgsage_up{job="pgsage"}[1m])')["data"]["result"]
        if not result or float(result[0]["value"][1]) < 4:
            return False
        return all(query(prom, name)["data"]["result"] for name in (
            "pgsage_statement_calls_total", "pgsage_table_seq_scans_total",
            "pgsage_recommendation_benefit", 'pgsage_up == 1'))

    wait_for(scraped, 45, "Prometheus to have scraped pgsage")

    # Every dashboard expression succeeds and returns data (retried briefly: a rate over
    # a statement needs two scrapes that saw it run).
    pending = dict.fromkeys(dashboard_expressions())
    problems: dict[tuple[str, str], str] = {}
    deadline = time.monotonic() + 20
    while pending:
        for title, expr in list(pending):
            sent = expr
            for var, replacement in GRAFANA_VARIABLES.items():
                sent = sent.replace(var, replacement)
            assert "$" not in sent, f"unsubstituted variable in {expr}"
            if sent.startswith("label_values("):  # a Grafana function, not PromQL
                sent = sent[len("label_values("):].split(",")[0]
            doc = query(prom, sent)
            if doc.get("status") != "success":
                problems[(title, expr)] = f"error: {doc.get('error')}"
                del pending[(title, expr)]
            elif doc["data"]["result"] or expr in MAY_BE_EMPTY:
                problems.pop((title, expr), None)
                del pending[(title, expr)]
            else:
                problems[(title, expr)] = "no data"
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not problems, "\n".join(f"{t}: {e}\n    -> {why}" for (t, e), why in problems.items())

    # Every alert rule is loaded, evaluates without error, and its expression answers.
    names = alert_names()
    assert len(names) >= 10

    def evaluated() -> list[dict[str, Any]]:
        groups = json.loads(fetch(f"{prom}/api/v1/rules")[2])["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r.get("health") == "ok" for r in rules) else []

    rules = wait_for(evaluated, 15, "every rule evaluated once")
    assert sorted(r["name"] for r in rules) == sorted(names)
    for rule in rules:
        assert not rule.get("lastError"), (rule["name"], rule["lastError"])
        doc = query(prom, rule["query"])
        assert doc.get("status") == "success", (rule["name"], rule["query"], doc)
    # The healthy test database fires none of the availability alerts.
    firing = {r["name"] for r in rules if r.get("state") == "firing"}
    assert not firing & {"PgsageDown", "PgsageTargetDown", "PgsageCollectorFailing"}, firing

