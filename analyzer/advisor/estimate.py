"""The index plan without HypoPG: candidates ranked by a cost model over pg_stats.

Also the GIN model used on both paths, since HypoPG cannot simulate GIN indexes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from pgsage.analyzer.advisor.candidates import CandidateSet, TableFacts, generate
from pgsage.analyzer.advisor.inputs import (
    calls_by_queryid,
    candidate_options,
    focus_statements,
    redundant_after,
    score_per_byte,
    table_facts,
    write_cost_note,
    write_overhead,
)
from pgsage.analyzer.advisor.naming import name_choices
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.index_plan import (
    AdvisorOptions,
    Candidate,
    IndexChoice,
    IndexPlan,
    StatementEffect,
)
from pgsage.analyzer.model.plan_tree import Plan
from pgsage.analyzer.model.workload import Statement, TableRef, Workload

RANDOM_PAGE = 4.0
CPU_TUPLE = 0.01


def _selectivity(facts: TableFacts, candidate: Candidate, statement: Statement) -> float:
    """Fraction of rows the candidate's usable key prefix selects (pg_stats estimates)."""
    uses = {(u.column, u.expression): u for u in statement.uses_of(candidate.table)}
    sel = 1.0
    for key in candidate.keys:
        use = uses.get((key.column, key.expression))
        if use is None:
            break
        kind = use.use.value
        if kind in ("eq", "join"):
            sel *= 1.0 / max(facts.distinct(key.column or ""), 1.0) if key.column else 0.005
        elif kind == "in":
            sel *= min(1.0, 3.0 / max(facts.distinct(key.column or ""), 1.0))
        elif kind in ("null", "not_null"):
            col = facts.columns.get(key.column or "")
            frac = col.null_frac if col and col.null_frac is not None else 0.1
            sel *= frac if kind == "null" else 1 - frac
            continue
        elif kind in ("range", "like_prefix"):
            sel *= 1 / 3
            break
        else:
            sel *= 0.01
            break
    return max(sel, 1.0 / max(facts.rows, 1.0))


def estimate_cost(facts: TableFacts, candidate: Candidate | None, statement: Statement,
                  limit_rows: float = math.inf) -> float:
    pages = max(facts.stats.relpages, 1)
    if candidate is None:
        return pages * 1.0 + facts.rows * CPU_TUPLE
    rows = facts.rows * _selectivity(facts, candidate, statement)
    rows = min(rows, limit_rows)
    height = max(math.log(max(facts.rows, 2), 100), 1.0)
    return height * RANDOM_PAGE + rows * (RANDOM_PAGE + CPU_TUPLE)


def _equality_led(candidate: Candidate, workload: Workload, queryids: Iterable[int]) -> bool:
    """Whether the first key is compared by equality in the statements (a reliable estimate)."""
    first = candidate.keys[0]
    for q in queryids:
        for use in workload.statements[q].uses_of(candidate.table):
            if (use.column, use.expression) == (first.column, first.expression) and \
                    use.use.value in ("eq", "in", "join"):
                return True
    return False


def advise_by_estimate(model: Model, workload: Workload, options: AdvisorOptions) -> IndexPlan:
    """Rank candidates without HypoPG: cost of a scan vs an index from pg_stats."""
    started = time.monotonic()
    plan = IndexPlan(method="estimate", parse_failures=workload.failures.copy())
    if (note := write_cost_note(model)) is not None:
        plan.notes.append(note)
    facts = table_facts(model)
    calls = calls_by_queryid(model)
    focus = focus_statements(model, workload, options)
    plan.statements_considered = len(focus)
    candidates = generate(workload, facts, focus, candidate_options(model))
    plan.already_indexed = [(c.label(), name) for c, name in candidates.already_indexed.items()]
    plan.candidates_considered = len(candidates.candidates)
    indexed_leads = {(relid, ix.columns[0]) for relid, f in facts.items() for ix in f.indexes
                     if ix.is_valid and ix.columns and ix.predicate is None}
    scored: list[IndexChoice] = []
    for candidate, queryids in candidates.candidates.items():
        if candidate.method == "gin":
            continue  # judged by _gin_choices below
        if candidate.method != "btree":
            plan.rejected.append((candidate.label(), "BRIN is proposed only with what-if "
                                  "proof (install HypoPG)"))
            continue
        table_facts_ = facts[candidate.table.relid]
        if not _equality_led(candidate, workload, queryids):
            plan.rejected.append((candidate.label(), "range or sort keys need HypoPG: pg_stats "
                                  "alone cannot tell how selective the range is"))
            continue
        lead = candidate.keys[0].column
        if (candidate.table.relid, lead) in indexed_leads:
            plan.rejected.append((candidate.label(), "an index already leads with "
                                  f"{lead}; the estimate model cannot prove more"))
            continue
        effects = []
        saving = 0.0
        for q in queryids:
            st = workload.statements[q]
            before = estimate_cost(table_facts_, None, st)
            limit = 100.0 if st.has_limit else math.inf
            after = estimate_cost(table_facts_, candidate, st, limit)
            if after < before * (1 - options.improvement_floor):
                n = calls.get(q, 0)
                saving += n * (before - after)
                effects.append(StatementEffect(q, n, before, after, st.text))
        if not effects:
            continue
        size = int(table_facts_.rows * (8 + 8 * len(candidate.keys)) * 1.3) + 8192
        penalty, written, lost = write_overhead(model, workload, candidate, options)
        if saving - penalty <= 0:
            plan.rejected.append((candidate.label(), "write overhead exceeds the saving"))
            continue
        scored.append(IndexChoice(candidate, candidate.name(), size, effects, saving - penalty,
                                  penalty, written, lost,
                                  redundant_after(candidate, table_facts_.indexes),
                                  proven=False))
    scored.sort(key=lambda c: -score_per_byte(c.benefit, c.size_bytes))
    covered: set[tuple[int, int]] = set()
    used = 0
    for choice in scored:
        helped = {(choice.candidate.table.relid, q) for q in choice.queryids}
        if helped <= covered:
            plan.rejected.append((choice.candidate.label(), "its statements are already "
                                  "served by a better pick"))
            continue
        if options.budget_bytes is not None and used + choice.size_bytes > options.budget_bytes:
            plan.rejected.append((choice.candidate.label(), "does not fit the storage budget"))
            continue
        if len(plan.choices) >= options.pick_limit:
            plan.stopped_by = f"--max-new {options.pick_limit}"
            break
        covered |= helped
        used += choice.size_bytes
        plan.choices.append(choice)
    plan.choices += gin_choices(model, workload, facts, candidates, options, plan,
                                 budget_left=None if options.budget_bytes is None
                                 else options.budget_bytes - used)
    name_choices(plan.choices, model)
    plan.elapsed_s = time.monotonic() - started
    return plan


GIN_SELECTIVITY = 0.005
"""PostgreSQL's own default for containment and text-search matches without statistics."""
GIN_WRITE_FACTOR = 3.0
"""A GIN entry per key of each row (jsonb keys, lexemes, trigrams): writes cost more."""
GIN_BYTES_PER_ROW = 40
GIN_MIN_ROWS = 10_000


def _bitmap_scan_cost(facts: TableFacts, selectivity: float) -> float:
    """A bitmap heap scan's cost as the planner models it: the distinct pages the matching
    rows fall on (Mackert-Lohman), each read at a cost between sequential and random."""
    pages = max(facts.stats.relpages, 1)
    rows = facts.rows * selectivity
    fetched = pages * (1 - math.exp(-rows / pages))
    per_page = RANDOM_PAGE - (RANDOM_PAGE - 1.0) * math.sqrt(fetched / pages)
    return fetched * per_page + rows * CPU_TUPLE * 2 + RANDOM_PAGE * 2


def _scans_table(plan: Plan | None, table: TableRef) -> bool:
    return plan is not None and any(
        node.get("Node Type") == "Seq Scan" and node.get("Relation Name") == table.name
        for node in plan.nodes())


def gin_choices(model: Model, workload: Workload, facts: dict[int, TableFacts],
                 candidates: CandidateSet, options: AdvisorOptions, plan: IndexPlan,
                 budget_left: int | None) -> list[IndexChoice]:
    """GIN indexes (jsonb containment, full text, arrays, trigram search), estimated.

    HypoPG cannot simulate GIN, so the proof is weaker: the table is large, each statement
    reads it with a sequential scan today (its plan, or the table's seq_scan counter
    offline), and an index scan selecting PostgreSQL's default share of rows replaces it.
    The findings say they are estimates.
    """
    calls = calls_by_queryid(model)
    out: list[IndexChoice] = []
    for candidate, queryids in candidates.candidates.items():
        if candidate.method != "gin":
            continue
        table_facts_ = facts[candidate.table.relid]
        if table_facts_.rows < GIN_MIN_ROWS:
            continue
        offline_scans = (model.table_counter(candidate.table.relid, "seq_scan") or 0) > 0
        effects = []
        for q in sorted(queryids):
            st = workload.statements[q]
            before_plan = plan.plans_before.get(q)
            scanned = _scans_table(before_plan, candidate.table) if plan.plans_before \
                else offline_scans
            if not scanned:
                continue
            before = before_plan.total_cost if before_plan is not None else \
                estimate_cost(table_facts_, None, st)
            scan = estimate_cost(table_facts_, None, st)
            after = max(before - scan, 0.0) + _bitmap_scan_cost(table_facts_, GIN_SELECTIVITY)
            if after < before * (1 - options.improvement_floor):
                effects.append(StatementEffect(q, calls.get(q, 0), before, after, st.text))
        if not effects:
            plan.rejected.append((candidate.label(), "GIN (not simulated by HypoPG): no "
                                  "statement scans the whole table for it today"))
            continue
        saving = sum(e.calls * (e.cost_before - e.cost_after) for e in effects)
        penalty, written, lost = write_overhead(model, workload, candidate, options)
        penalty *= GIN_WRITE_FACTOR
        size = int(table_facts_.rows * GIN_BYTES_PER_ROW) + 8192
        if saving - penalty <= 0:
            plan.rejected.append((candidate.label(), "write overhead exceeds the saving"))
            continue
        if budget_left is not None and size > budget_left:
            plan.rejected.append((candidate.label(), "does not fit the storage budget"))
            continue
        if budget_left is not None:
            budget_left -= size
        out.append(IndexChoice(candidate, candidate.name(), size, effects, saving - penalty,
                               penalty, written, lost, [], proven=False))
    return out


