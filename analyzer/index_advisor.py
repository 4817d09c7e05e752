"""The index advisor: the whole workload's index plan, chosen greedily and proven by what-if.

Objective: the planner's cost of the workload, each statement weighted by its calls over the
window, minus the cost of maintaining each new index (rows written to its table, and
updates that stop being HOT when an updated column becomes indexed). With HypoPG, every
candidate is costed by the real planner with the indexes chosen so far in place (a lazy
greedy search: a candidate's benefit only shrinks as others are chosen, so a stale upper
bound is re-checked before it wins); indexes are picked by net benefit per byte within the
storage budget, until the best marginal improvement falls below the threshold. Without
HypoPG the same candidates are ranked by an estimate from pg_stats, marked as such.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from analyzer.explain import NotExplainable, Plan, Planner
from analyzer.index_candidates import (
    Candidate,
    CandidateOptions,
    CandidateSet,
    IndexKey,
    TableFacts,
    generate,
)
from analyzer.model import Model
from analyzer.plannable import plannable_variant
from analyzer.whatif import HypoIndex, WhatIf, WhatIfError
from analyzer.workload import Statement, TableRef, Workload
from collectors.indexes import IndexStats

Progress = Callable[[str, float], None]
"""Called with a phase description and the fraction done (0..1)."""


@dataclass(frozen=True)
class AdvisorOptions:
    budget_bytes: int | None = None
    """Storage for new indexes; None means no limit."""
    max_new: int = 10
    min_improvement: float = 0.10
    """A pick must cut the cost of the statements it helps by at least this fraction."""
    time_limit_s: float = 60.0
    max_statements: int = 200
    """The advisor looks at the statements that account for most time, up to this many."""
    write_cost_per_row: float = 1.0
    """Planner cost units charged per row written to a table, per new index on it."""
    min_calls: int = 2


@dataclass(frozen=True)
class StatementEffect:
    queryid: int
    calls: int
    cost_before: float
    cost_after: float
    text: str


@dataclass
class IndexChoice:
    candidate: Candidate
    name: str
    size_bytes: int
    effects: list[StatementEffect]
    benefit: float
    """Cost units saved over the window, weighted by calls, net of write overhead."""
    write_overhead: float
    rows_written: float
    hot_updates_lost: float
    replaces: list[IndexStats] = field(default_factory=list)
    proven: bool = True
    """True when HypoPG and the planner measured the costs; False for estimates."""

    @property
    def queryids(self) -> list[int]:
        return [e.queryid for e in self.effects]


@dataclass
class IndexPlan:
    method: str
    """hypopg (proven by what-if planning) or estimate (pg_stats model, lower confidence)."""
    choices: list[IndexChoice] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """(candidate label, reason) for candidates considered and not chosen."""
    already_indexed: list[tuple[str, str]] = field(default_factory=list)
    skipped_statements: dict[int, str] = field(default_factory=dict)
    parse_failures: Counter[str] = field(default_factory=Counter)
    statements_considered: int = 0
    candidates_considered: int = 0
    explains: int = 0
    elapsed_s: float = 0.0
    stopped_by: str | None = None
    workload_cost: float = 0.0
    """Calls-weighted cost of the considered statements before any new index."""
    plans_before: dict[int, Plan] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- shared inputs ---------------------------------------------------------------------
def table_facts(model: Model) -> dict[int, TableFacts]:
    columns: dict[int, dict[str, object]] = {}
    for col in model.columns:
        columns.setdefault(col.relid, {})[col.name] = col
    return {relid: TableFacts(t, columns.get(relid, {}),  # type: ignore[arg-type]
                              model.indexes_by_table.get(relid, []))
            for relid, t in model.tables.items()}


def focus_statements(model: Model, workload: Workload, options: AdvisorOptions) -> list[int]:
    """Queryids worth indexing for: most total time first, bounded in number."""
    frame = model.statements
    if frame.empty:
        return []
    frame = frame[frame["calls"] >= options.min_calls]
    ordered = frame.groupby("queryid", as_index=False)[["total_exec_time", "calls"]].sum()
    ordered = ordered.sort_values("total_exec_time", ascending=False)
    out = []
    for queryid in ordered["queryid"]:
        st = workload.statements.get(int(queryid))
        if st is not None and st.tables and st.kind == "select":
            out.append(int(queryid))
        if len(out) >= options.max_statements:
            break
    return out


def calls_by_queryid(model: Model) -> dict[int, int]:
    frame = model.statements
    if frame.empty:
        return {}
    sums = frame.groupby("queryid")["calls"].sum()
    return {int(str(k)): int(v) for k, v in sums.items()}


def rows_written(model: Model, relid: int) -> tuple[float, float]:
    """(rows inserted or non-HOT updated, HOT updates) on a table over the window."""
    table = model.tables.get(relid)
    if table is None:
        return 0.0, 0.0
    ins = model.table_counter_over_window(relid, "n_tup_ins")
    upd = model.table_counter_over_window(relid, "n_tup_upd")
    hot = model.table_counter_over_window(relid, "n_tup_hot_upd")
    return ins + max(upd - hot, 0.0), hot


def updated_columns(workload: Workload, table: TableRef) -> set[str]:
    cols: set[str] = set()
    for st in workload.statements.values():
        cols |= st.updated_columns.get(table, set())
    return cols


def write_overhead(model: Model, workload: Workload, candidate: Candidate,
                   options: AdvisorOptions) -> tuple[float, float, float]:
    """(penalty in cost units, rows written, HOT updates lost) of adding this index."""
    written, hot = rows_written(model, candidate.table.relid)
    lost = hot if candidate.all_columns() & updated_columns(workload, candidate.table) else 0.0
    existing = len(model.indexes_by_table.get(candidate.table.relid, []))
    penalty = options.write_cost_per_row * (written + lost * (existing + 1))
    return penalty, written, lost


def redundant_after(candidate: Candidate, indexes: Iterable[IndexStats]) -> list[IndexStats]:
    """Existing indexes the candidate makes unnecessary: a strict key prefix of it, same
    method and predicate, nothing a constraint, replica identity or uniqueness needs."""
    out = []
    keys = [k.column if not k.expression else None for k in candidate.keys]
    for ix in indexes:
        if ix.is_unique or ix.is_primary or ix.constraint_type or ix.is_replica_identity \
                or ix.referenced_by_fk or not ix.is_valid or ix.method != candidate.method:
            continue
        if ix.expressions or ix.predicate or candidate.predicate:
            continue
        ix_keys = list(ix.columns[: ix.key_count])
        if len(ix_keys) > len(keys) or ix_keys != keys[: len(ix_keys)]:
            continue
        if any(ix.options[: ix.key_count]) and any(k.desc for k in candidate.keys):
            continue
        out.append(ix)
    return out


# --- what-if search --------------------------------------------------------------------
MAX_KEYS = 6
"""Key columns an extended candidate may reach."""
MAX_EXTEND_WIDTH = 64
"""Widest column (average bytes, pg_stats) worth appending to an index's keys."""


@dataclass(eq=False)
class _Chosen:
    candidate: Candidate
    hypo: HypoIndex
    benefit: float
    penalty: float
    written: float
    lost: float


@dataclass(frozen=True)
class _Move:
    """Add a candidate, or replace a chosen index by a candidate that extends it."""

    candidate: Candidate
    replaces: Candidate | None = None


@dataclass
class _Trial:
    saving: float
    """Calls-weighted cost saved over the statements the move can affect (may be < 0)."""
    helped: list[StatementEffect]
    helped_cost: float
    size: int
    """Bytes the move adds: the new index, less the one it replaces."""


def referenced_columns(statement: Statement, table: TableRef) -> set[str] | None:
    """Columns of a table the statement reads or compares; None when it reads `*`."""
    if table in statement.select_star:
        return None
    cols = {u.column for u in statement.uses_of(table) if u.column}
    return cols | statement.selected_columns.get(table, set())


class _Search:
    def __init__(self, model: Model, workload: Workload, whatif: WhatIf,
                 options: AdvisorOptions, progress: Progress | None) -> None:
        self.model = model
        self.workload = workload
        self.whatif = whatif
        self.options = options
        self.progress = progress
        self.deadline = time.monotonic() + options.time_limit_s
        self.calls = calls_by_queryid(model)
        self.current: dict[int, float] = {}
        """Each statement's cost with the indexes chosen so far."""
        self.using: dict[int, frozenset[str]] = {}
        """The (hypothetical) index names each statement's current plan uses."""
        self.planned: dict[int, Statement] = {}
        """What is planned for each queryid: the statement, or its plannable variant."""
        self.chosen: list[_Chosen] = []

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def plan_base(self, statement: Statement) -> Plan:
        """The plan without new indexes, through a plannable variant where needed."""
        try:
            plan = self.whatif.plan(statement)
            self.planned[statement.queryid] = statement
        except NotExplainable as first:
            variant = plannable_variant(statement)
            if variant is None:
                raise
            try:
                plan = self.whatif.plan(variant)
            except NotExplainable:
                raise first from None
            self.planned[statement.queryid] = variant
        self.current[statement.queryid] = plan.total_cost
        self.using[statement.queryid] = frozenset(plan.index_names())
        return plan

    def affected(self, candidate: Candidate) -> list[Statement]:
        """Statements whose plan the candidate can change: on its table, and reading its
        leading column (an expression key: every statement on the table)."""
        lead = candidate.keys[0]
        out = []
        for queryid, planned in self.planned.items():
            statement = self.workload.statements[queryid]
            if candidate.table not in statement.tables:
                continue
            if lead.column and not lead.expression:
                cols = referenced_columns(statement, candidate.table)
                if cols is not None and lead.column not in cols:
                    continue
            out.append(planned)
        return out

    def _find(self, candidate: Candidate) -> _Chosen | None:
        return next((c for c in self.chosen if c.candidate == candidate), None)

    def recreate(self, chosen: _Chosen) -> None:
        """Create a chosen index again (HypoPG names it anew) and follow the rename."""
        old_name = chosen.hypo.name
        chosen.hypo = self.whatif.create(chosen.candidate)
        for queryid, names in self.using.items():
            if old_name in names:
                self.using[queryid] = (names - {old_name}) | {chosen.hypo.name}

    def trial(self, move: _Move) -> _Trial:
        """Plan the affected statements with the move applied, then undo it."""
        old = self._find(move.replaces) if move.replaces is not None else None
        statements = self.affected(move.candidate)
        if old is not None:
            seen = {s.queryid for s in statements}
            statements += [s for s in self.affected(old.candidate) if s.queryid not in seen]
            self.whatif.drop(old.hypo)
        try:
            with self.whatif.trying(move.candidate) as hypo:
                plans = self.whatif.costs(statements)
        finally:
            if old is not None:
                self.recreate(old)
        saving = 0.0
        helped: list[StatementEffect] = []
        helped_cost = 0.0
        for st in statements:
            plan = plans.get(st.queryid)
            if not isinstance(plan, Plan):
                continue
            before = self.current[st.queryid]
            calls = self.calls.get(st.queryid, 0)
            saving += calls * (before - plan.total_cost)
            if hypo.name in plan.index_names() and plan.total_cost < before:
                helped.append(StatementEffect(st.queryid, calls, before, plan.total_cost,
                                              self.workload.statements[st.queryid].text))
                helped_cost += calls * before
        size = hypo.size_bytes - (old.hypo.size_bytes if old is not None else 0)
        return _Trial(saving, helped, helped_cost, size)

    def apply(self, move: _Move, trial: _Trial, penalty: float, written: float,
              lost: float) -> _Chosen:
        old = self._find(move.replaces) if move.replaces is not None else None
        benefit = trial.saving - penalty
        if old is not None:
            self.whatif.drop(old.hypo)
            self.chosen.remove(old)
            benefit += old.benefit
        hypo = self.whatif.create(move.candidate)
        chosen = _Chosen(move.candidate, hypo, benefit, penalty, written, lost)
        self.chosen.append(chosen)
        # The names HypoPG gave in the trial are gone: re-plan what the move affected.
        for st in self.affected(move.candidate) + (
                self.affected(old.candidate) if old is not None else []):
            try:
                plan = self.whatif.plan(st)
            except NotExplainable:
                continue
            self.current[st.queryid] = plan.total_cost
            self.using[st.queryid] = frozenset(plan.index_names())
        return chosen

    def unused(self) -> list[_Chosen]:
        """Chosen indexes no statement's current plan uses any more (superseded)."""
        used = set().union(*self.using.values()) if self.using else set()
        return [c for c in self.chosen if c.hypo.name not in used]

    def drop_chosen(self, chosen: _Chosen) -> None:
        self.whatif.drop(chosen.hypo)
        self.chosen.remove(chosen)

    def extensions(self, chosen: _Chosen, facts: TableFacts) -> list[_Move]:
        """The chosen index with one more key column (the Extend algorithm's move): each
        column that a statement reading the index's leading column also reads."""
        cand = chosen.candidate
        if cand.method != "btree" or len(cand.keys) >= MAX_KEYS:
            return []
        have = {k.column for k in cand.keys if k.column and not k.expression}
        columns: set[str] = set()
        for st in self.affected(cand):
            cols = referenced_columns(self.workload.statements[st.queryid], cand.table)
            columns |= cols or set()
        out = []
        for col in sorted(columns - have):
            if facts.width(col) > MAX_EXTEND_WIDTH or facts.type_of(col) in UNSORTABLE:
                continue
            out.append(_Move(Candidate(cand.table, (*cand.keys, IndexKey(col)),
                                       include=tuple(c for c in cand.include if c != col),
                                       predicate=cand.predicate, origin="extended"),
                             replaces=cand))
        return out


UNSORTABLE = {"json", "xml", "point", "polygon", "box", "circle", "line", "lseg", "path",
              "tsvector", "tsquery"}
"""Types without a btree operator class."""


def _score(net: float, size: int) -> float:
    return net / max(size, 8192)


def advise_with_hypopg(model: Model, workload: Workload, planner: Planner, whatif: WhatIf,
                       options: AdvisorOptions, progress: Progress | None = None) -> IndexPlan:
    """Lazy greedy by net benefit per byte over the candidates and, once an index is chosen,
    over its extensions by one key column (Schlosser et al.'s Extend), within the budget."""
    started = time.monotonic()
    plan = IndexPlan(method="hypopg", parse_failures=workload.failures.copy())
    facts = table_facts(model)
    focus = focus_statements(model, workload, options)
    search = _Search(model, workload, whatif, options, progress)
    whatif.reset()
    for i, queryid in enumerate(focus):
        if search.out_of_time():
            plan.stopped_by = "time limit"
            break
        try:
            plan.plans_before[queryid] = search.plan_base(workload.statements[queryid])
        except NotExplainable as exc:
            plan.skipped_statements[queryid] = str(exc)
            continue
        if progress:
            progress("planning statements", (i + 1) / max(len(focus), 1) * 0.2)
    considered = set(search.current)
    plan.statements_considered = len(considered)
    plan.workload_cost = sum(search.calls.get(q, 0) * c for q, c in search.current.items())
    candidates: CandidateSet = generate(workload, facts, considered, CandidateOptions())
    plan.already_indexed = [(c.label(), name) for c, name in candidates.already_indexed.items()]
    plan.candidates_considered = len(candidates.candidates)
    heap: list[tuple[float, int, _Move]] = []
    counter = itertools.count()

    def penalty_of(move: _Move) -> tuple[float, float, float]:
        penalty, written, lost = write_overhead(model, workload, move.candidate, options)
        if move.replaces is not None:
            penalty -= write_overhead(model, workload, move.replaces, options)[0]
        return penalty, written, lost

    def push(move: _Move) -> _Trial | None:
        try:
            trial = search.trial(move)
        except WhatIfError as exc:
            plan.rejected.append((move.candidate.label(), f"HypoPG cannot simulate it: {exc}"))
            return None
        if not trial.helped:
            if move.replaces is None:
                plan.rejected.append((move.candidate.label(), "the planner does not use it"))
            return None
        net = trial.saving - penalty_of(move)[0]
        heapq.heappush(heap, (-_score(net, trial.size), next(counter), move))
        return trial

    pool = [c for c in candidates.candidates if c.method != "gin"]
    for i, candidate in enumerate(pool):
        if search.out_of_time():
            plan.stopped_by = "time limit"
            break
        if candidate.needs_extension and not model.extension_installed(
                candidate.needs_extension):
            plan.rejected.append((candidate.label(),
                                  f"needs extension {candidate.needs_extension}"))
            continue
        push(_Move(candidate))
        if progress:
            progress("costing candidates", 0.2 + 0.6 * (i + 1) / max(len(pool), 1))
    budget = options.budget_bytes
    used = 0
    explored: set[Candidate] = set()
    while heap:
        if search.out_of_time():
            plan.stopped_by = "time limit"
            break
        _, _, move = heapq.heappop(heap)
        if search._find(move.candidate) is not None:
            continue
        if move.replaces is not None and search._find(move.replaces) is None:
            continue  # the index it extends was itself replaced or dropped
        if move.replaces is None and len(search.chosen) >= options.max_new:
            plan.stopped_by = plan.stopped_by or f"--max-new {options.max_new}"
            continue
        try:
            trial = search.trial(move)
        except WhatIfError:
            continue
        penalty, written, lost = penalty_of(move)
        net = trial.saving - penalty
        if heap and _score(net, trial.size) < -heap[0][0]:
            heapq.heappush(heap, (-_score(net, trial.size), next(counter), move))
            continue
        label = move.candidate.label()
        if not trial.helped or net <= 0:
            if move.replaces is None:
                plan.rejected.append((label, "write overhead exceeds the saving"
                                      if trial.helped else
                                      "no longer helps once better picks exist"))
            continue
        if trial.helped_cost <= 0 or trial.saving / trial.helped_cost < options.min_improvement:
            if move.replaces is None:
                plan.rejected.append((label, f"improves its statements by less than "
                                      f"{options.min_improvement:.0%}"))
            continue
        if budget is not None and used + trial.size > budget:
            if move.replaces is None:
                plan.rejected.append((label, "does not fit the storage budget"))
            continue
        chosen = search.apply(move, trial, penalty, written, lost)
        used += trial.size
        for gone in search.unused():
            search.drop_chosen(gone)
            used -= gone.hypo.size_bytes
            plan.rejected.append((gone.candidate.label(), "superseded by later picks"))
        if chosen in search.chosen and chosen.candidate not in explored:
            explored.add(chosen.candidate)
            for extension in search.extensions(chosen, facts[chosen.candidate.table.relid]):
                if search.out_of_time():
                    break
                push(extension)
        if progress:
            progress(f"chose {len(search.chosen)} index(es)", 0.8)
    plan.choices = _final_choices(search, plan, facts)
    plan.choices += _gin_choices(model, workload, facts, candidates, options, plan,
                                 budget_left=None if budget is None else budget - used)
    whatif.reset()
    plan.explains = whatif.explains
    plan.elapsed_s = time.monotonic() - started
    if progress:
        progress("done", 1.0)
    return plan


def _final_choices(search: _Search, plan: IndexPlan,
                   facts: dict[int, TableFacts]) -> list[IndexChoice]:
    """Each chosen index with the statements whose final plan uses it: cost with every
    chosen index, against the cost with all of them but this one (its own contribution)."""
    out = []
    for chosen in list(search.chosen):
        users = [search.planned[q] for q, names in search.using.items()
                 if chosen.hypo.name in names]
        effects = []
        search.whatif.drop(chosen.hypo)
        try:
            without = search.whatif.costs(users)
        finally:
            search.recreate(chosen)
        for st in users:
            before = without.get(st.queryid)
            cost_before = before.total_cost if isinstance(before, Plan) else \
                plan.plans_before[st.queryid].total_cost
            after = search.current[st.queryid]
            if cost_before > after:
                effects.append(StatementEffect(st.queryid, search.calls.get(st.queryid, 0),
                                               cost_before, after,
                                               search.workload.statements[st.queryid].text))
        out.append(IndexChoice(
            candidate=chosen.candidate, name=chosen.candidate.name(),
            size_bytes=chosen.hypo.size_bytes, effects=effects, benefit=chosen.benefit,
            write_overhead=chosen.penalty, rows_written=chosen.written,
            hot_updates_lost=chosen.lost,
            replaces=redundant_after(chosen.candidate,
                                     facts[chosen.candidate.table.relid].indexes)))
    out.sort(key=lambda c: -c.benefit)
    return out


# --- estimate model --------------------------------------------------------------------
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
    facts = table_facts(model)
    calls = calls_by_queryid(model)
    focus = focus_statements(model, workload, options)
    plan.statements_considered = len(focus)
    candidates = generate(workload, facts, focus, CandidateOptions())
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
            if after < before * (1 - options.min_improvement):
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
    scored.sort(key=lambda c: -_score(c.benefit, c.size_bytes))
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
        if len(plan.choices) >= options.max_new:
            plan.stopped_by = f"--max-new {options.max_new}"
            break
        covered |= helped
        used += choice.size_bytes
        plan.choices.append(choice)
    plan.choices += _gin_choices(model, workload, facts, candidates, options, plan,
                                 budget_left=None if options.budget_bytes is None
                                 else options.budget_bytes - used)
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


def _gin_choices(model: Model, workload: Workload, facts: dict[int, TableFacts],
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
            if after < before * (1 - options.min_improvement):
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


def hypopg_schema(model: Model) -> str | None:
    ext = model.extensions.get("hypopg")
    return ext.schema if ext and ext.installed_version else None

