"""A source that failed is unknown, never absent (issue 14).

A real server's snapshot of a seeded database, then each of its sources in turn marked as
failed (its rows gone, its status saying why, as a statement timeout leaves them): no rule
may then report something the complete snapshot does not show. A finding that appears only
because a source failed reads the failure as a missing feature: "create pg_stat_statements"
when its query timed out, "no primary key" when the constraints were not read.
"""

from __future__ import annotations

import dataclasses

import psycopg
from conftest import PgDatabase

from pgsage.analyzer.engine.config import Config, validate
from pgsage.analyzer.engine.pipeline import analyze, take_snapshot
from pgsage.analyzer.model.snapshot import CollectorStatus, Snapshot

SEED = """
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     tenant_id bigint NOT NULL,
                     customer_id bigint NOT NULL REFERENCES customers,
                     total numeric(12,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
                     deleted_at timestamptz, attrs jsonb NOT NULL DEFAULT '{}');
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX orders_live_idx ON orders (customer_id) WHERE deleted_at IS NULL;
CREATE INDEX orders_attrs_idx ON orders USING gin (attrs);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON orders USING (tenant_id = current_setting('app.tenant')::bigint);
INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 3000) g;
INSERT INTO orders (tenant_id, customer_id, total, attrs)
  SELECT g % 7, 1 + g % 3000, g % 100, jsonb_build_object('k', g % 10)
  FROM generate_series(1, 20000) g;
"""

WORKLOAD = [
    ("SELECT * FROM orders WHERE customer_id = %s AND deleted_at IS NULL", lambda i: (i,)),
    ("SELECT id FROM orders WHERE attrs @> %s::jsonb", lambda i: (f'{{"k": {i % 10}}}',)),
    ("SELECT email FROM customers WHERE id = %s", lambda i: (i,)),
]


REPORTS_THE_FAILURE = {"statements": {"CF001"}, "hba": {"SE010"}, "roles": {"SE010"}}
"""Findings that are about the failed source itself (what could not be read and why)."""
MEASUREMENTS = {"QY001"}
"""Rules that list what was measured (the top statements), never what is missing: which
statements make the list moves with the window the server source dates."""


def failed(snapshot: Snapshot, name: str) -> Snapshot:
    status = {**snapshot.status, name: CollectorStatus(
        ok=False, reason="canceling statement due to statement timeout")}
    data = {k: v for k, v in snapshot.data.items() if k != name}
    return dataclasses.replace(snapshot, status=status, data=data)


def findings(snapshot: Snapshot, config: Config) -> set[tuple[object, ...]]:
    """What each finding is about: its statements, else its object (numbers and the
    objects a statement resolves to may move with what is known)."""
    return {(r.rule, tuple(r.impact.get("queryids") or ())) if r.impact.get("queryids")
            else (r.rule, r.object.table, r.object.index, r.object.columns,
                  r.evidence.get("setting"))
            for r in analyze(snapshot, config).recommendations}


def test_no_rule_reads_a_failed_source_as_absent(pg: PgDatabase) -> None:
    pg.execute(SEED)
    pg.execute("VACUUM ANALYZE")
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for i in range(200):
            for sql, params in WORKLOAD:
                conn.execute(sql.encode(), params(i))
        conn.execute("UPDATE orders SET total = total + 1 WHERE id < 100")
    config = validate({})
    snapshot = take_snapshot(pg.dsn, config)
    complete = findings(snapshot, config)
    wrong = {}
    for name, status in sorted(snapshot.status.items()):
        if not status.ok:
            continue
        new = {f for f in findings(failed(snapshot, name), config) - complete
               if f[0] not in REPORTS_THE_FAILURE.get(name, set()) | MEASUREMENTS}
        if new:
            wrong[name] = sorted(new)
    assert wrong == {}
    notes = analyze(failed(snapshot, "constraints"), config).notes
    assert any(n.startswith("constraints unknown (canceling statement due to statement "
                            "timeout): ") and "SD001" in n for n in notes), notes

