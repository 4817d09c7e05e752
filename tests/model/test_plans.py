"""The plan collector's records: a hash of the plan's shape, and plans kept in snapshot files."""

from __future__ import annotations

import json

from factories import make_model, make_plan, make_snapshot, make_statement, plan_node

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.plan_tree import catalog_only, plan_hash, top_queryids
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.model.workload import Catalog, describe


def scan(index: str | None, cost: float, rows: float) -> dict[str, object]:
    if index is None:
        return plan_node("Seq Scan", rows, cost, Relation_Name="users", Filter="(email = $1)")
    return plan_node("Index Scan", rows, cost, Relation_Name="users", Index_Name=index,
                     Scan_Direction="Forward")


def test_the_hash_covers_the_shape_not_the_numbers() -> None:
    assert plan_hash(scan("users_email_idx", 8.3, 1)) == plan_hash(scan("users_email_idx", 9.1, 3))
    assert plan_hash(scan("users_email_idx", 8.3, 1)) != plan_hash(scan("users_email2", 8.3, 1))
    assert plan_hash(scan("users_email_idx", 8.3, 1)) != plan_hash(scan(None, 8.3, 1))
    limited = plan_node("Limit", 1, 9, [scan("users_email_idx", 8.3, 1)])
    assert plan_hash(limited) != plan_hash(scan("users_email_idx", 8.3, 1))


def test_plans_survive_a_snapshot_file_and_reach_the_model() -> None:
    record = make_plan(7, plan_node("Limit", 1, 9, [scan("users_email_idx", 8.3, 1)]))
    snap = make_snapshot(data={"plans": [record]})
    back = Snapshot.from_json(json.loads(json.dumps(snap.to_json())))
    model = Model(back, back)
    assert model.plans[7] == record
    assert model.baseline_plans[7].plan_hash == record.plan_hash
    assert record.relations == ("users",) and record.indexes == ("users_email_idx",)


def test_statements_are_planned_by_total_time_and_monitoring_queries_are_not() -> None:
    model = make_model(statements=[
        make_statement(1, "SELECT 1", 10, total_exec_time=5.0),
        make_statement(2, "SELECT 2", 10, total_exec_time=50.0, total_plan_time=1.0),
        make_statement(3, "SELECT 3", 10, total_exec_time=0.0)])
    assert top_queryids(model.statements, 10) == [2, 1]
    catalog = Catalog({}, {})
    assert catalog_only(describe(1, "SELECT relname FROM pg_class c JOIN "
                                    "pg_catalog.pg_namespace n ON true", catalog))
    assert not catalog_only(describe(2, "SELECT * FROM orders", catalog))
