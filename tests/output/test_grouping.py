"""One finding per problem: the same rule and cause on several objects is one finding."""

from __future__ import annotations

from factories import (
    make_column,
    make_fk,
    make_model,
    make_pkey,
    make_statement,
    make_table,
)
from report_contract import check_report

from pgsage.analyzer.engine.advise import advise
from pgsage.analyzer.engine.config import RulesConfig
from pgsage.analyzer.engine.grouping import grouped
from pgsage.analyzer.model.findings import (
    Action,
    Category,
    ObjectRef,
    Recommendation,
    Severity,
    TimeGain,
)
from pgsage.analyzer.output.render import render_json, render_table
from pgsage.analyzer.output.report import build
from pgsage.collectors.tables import TableStats


def no_pk(table: str, rows: int) -> Recommendation:
    return Recommendation("SD001", Category.SCHEMA, Severity.MEDIUM,
                          f"Table public.{table} has no primary key ({rows:,} rows)", "why",
                          object=ObjectRef("public", table),
                          action=Action(sql=f"ALTER TABLE public.{table} ADD PRIMARY KEY (id);"))


def test_the_same_finding_on_eight_tables_is_one_finding_listing_them() -> None:
    [one] = grouped([no_pk(f"sbtest{n}", 1000 * n) for n in range(1, 9)])
    assert [o.table for o in one.objects] == [f"sbtest{n}" for n in range(1, 9)]
    assert one.action is not None and one.action.sql is not None
    assert one.action.sql.count("ADD PRIMARY KEY") == 8
    assert "(and 7 more like it)" in one.title


def test_another_rule_or_severity_or_column_is_another_problem() -> None:
    index = Recommendation("IX001", Category.INDEX, Severity.MEDIUM,
                           "Create index orders (status)", "why",
                           object=ObjectRef("public", "orders", "i1", ("status",)))
    other = Recommendation("IX001", Category.INDEX, Severity.MEDIUM,
                           "Create index items (order_id)", "why",
                           object=ObjectRef("public", "items", "i2", ("order_id",)))
    high = Recommendation("SD001", Category.SCHEMA, Severity.HIGH,
                          "Table public.a has no primary key (1 rows)", "why",
                          object=ObjectRef("public", "a"))
    assert len(grouped([index, other, no_pk("b", 1), high])) == 4


def test_a_group_adds_up_its_members_time() -> None:
    members = [Recommendation("IX001", Category.INDEX, Severity.MEDIUM, f"Create index {t} (k)",
                              "why", object=ObjectRef("public", t, f"{t}_k_idx", ("k",)),
                              gain=TimeGain(3600.0, 1000.0, 900.0))
               for t in ("sbtest1", "sbtest2")]
    [one] = grouped(members)
    assert one.gain is not None and one.gain.saved_ms == 1800.0


def test_the_json_keeps_every_object_and_member() -> None:
    report = build(make_model(), grouped([no_pk(f"t{n}", n) for n in range(3)]), [])
    doc = check_report(render_json(report))
    [rec] = doc["recommendations"]
    assert [o["table"] for o in rec["objects"]] == ["t0", "t1", "t2"]
    assert [m["title"] for m in rec["members"]] == [
        f"Table public.t{n} has no primary key ({n} rows)" for n in range(3)]
    assert rec["object"] == rec["objects"][0]


def test_the_table_lists_the_objects_of_a_group() -> None:
    report = build(make_model(), grouped([no_pk(f"t{n}", n) for n in range(3)]), [])
    text = render_table(report)
    assert "t0 +2" in text and "3 objects: t0, t1, t2" in text


def sysbench(tables: int = 8) -> list[TableStats]:
    return [make_table(f"sbtest{n}", rows=100_000) for n in range(1, tables + 1)]


def test_a_rule_firing_on_each_sysbench_table_gives_one_finding() -> None:
    found = sysbench()
    keys = [make_fk(t, ("id",), t, name=f"{t.name}_pkey", type="p") for t in found]
    model = make_model(tables=found, indexes=[make_pkey(t) for t in found], constraints=keys,
                       data={"columns": [make_column(t, "id", "integer") for t in found]})
    report, _ = advise(model, RulesConfig(select=("SD004",),
                                          options={"SD004": {"min_rows": 1000}}))
    [one] = report
    assert sorted(o.table for o in one.objects) == [t.name for t in found]


def test_statement_findings_group_across_queryids_of_either_sign() -> None:
    """QY003 on each table, with queryids negative and positive as pg_stat_statements
    gives them: one finding, every lookup's queryid in its impact."""
    found = sysbench()
    statements = []
    for n, t in enumerate(found, start=1):
        sign = -1 if n % 2 else 1
        statements += [
            make_statement(sign * n, f"SELECT c FROM {t.name} WHERE id = $1", 5000,
                           total_exec_time=100.0, rows=5000),
            make_statement(sign * (100 + n), f"SELECT id FROM {t.name} WHERE k = $1", 50,
                           total_exec_time=100.0, rows=5000)]
    columns = [make_column(t, c, attnum=i) for t in found for i, c in enumerate(("id", "k"), 1)]
    model = make_model(tables=found, indexes=[make_pkey(t) for t in found],
                       statements=statements, data={"columns": columns})
    report, _ = advise(model, RulesConfig(select=("QY003",)))
    [one] = report
    assert len(one.members) == 8
    assert {str(n if n % 2 == 0 else -n) for n in range(1, 9)} <= set(one.impact["queryids"])
