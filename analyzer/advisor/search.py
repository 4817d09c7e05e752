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

import contextlib
import dataclasses
import heapq
import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pgsage.analyzer.advisor.candidates import (
    CandidateSet,
    TableFacts,
    generate,
    or_bundles,
)
from pgsage.analyzer.advisor.estimate import gin_choices
from pgsage.analyzer.advisor.inputs import (
    calls_by_queryid,
    candidate_options,
    focus_statements,
    leaf_partitions,
    redundant_after,
    referenced_columns,
    score_per_byte,
    table_facts,
    write_cost_note,
    write_overhead,
)
from pgsage.analyzer.advisor.naming import name_choices
from pgsage.analyzer.advisor.plannable import plannable_variant, read_equivalent
from pgsage.analyzer.live.explain import Planner
from pgsage.analyzer.live.whatif import HypoIndex, WhatIf, WhatIfError
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.index_plan import (
    AdvisorOptions,
    Candidate,
    IndexChoice,
    IndexKey,
    IndexPlan,
    Progress,
    StatementEffect,
)
from pgsage.analyzer.model.plan_tree import NotExplainable, Plan
from pgsage.analyzer.model.workload import Statement, TableRef, Workload

# --- what-if search --------------------------------------------------------------------
MAX_KEYS = 6
"""Key columns an extended candidate may reach."""
MAX_EXTEND_WIDTH = 64
"""Widest column (average bytes, pg_stats) worth appending to an index's keys."""


@dataclass(frozen=True)
class _Hypo:
    """A candidate made hypothetical: one HypoPG index, or one on each leaf partition of a
    partitioned table (HypoPG cannot build one on a partitioned parent; PostgreSQL's own
    index on the parent is an index on every partition, which is what is planned)."""

    parts: tuple[HypoIndex, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.parts)

    @property
    def size_bytes(self) -> int:
        return sum(p.size_bytes for p in self.parts)


@dataclass(eq=False)
class _Chosen:
    candidate: Candidate
    hypo: _Hypo
    benefit: float
    penalty: float
    written: float
    lost: float


@dataclass(frozen=True)
class _Move:
    """Add a candidate, or replace a chosen index by a candidate that extends it."""

    candidate: Candidate
    replaces: Candidate | None = None
    companions: tuple[Candidate, ...] = ()
    """Indexes added together with the candidate (the other arms of an OR's BitmapOr)."""

    @property
    def adds(self) -> tuple[Candidate, ...]:
        return (self.candidate, *self.companions)

    def label(self) -> str:
        return " + ".join(c.label() for c in self.adds)


@dataclass
class _Trial:
    saving: float
    """Calls-weighted cost saved over the statements the move can affect (may be < 0)."""
    helped: list[StatementEffect]
    helped_cost: float
    size: int
    """Bytes the move adds: the new index, less the one it replaces."""


class _Search:
    def __init__(self, model: Model, workload: Workload, whatif: WhatIf,
                 options: AdvisorOptions, progress: Progress | None) -> None:
        self.model = model
        self.workload = workload
        self.whatif = whatif
        self.options = options
        self.progress = progress
        self.deadline = time.monotonic() + options.seconds
        self.calls = calls_by_queryid(model)
        self.current: dict[int, float] = {}
        """Each statement's cost with the indexes chosen so far."""
        self.using: dict[int, frozenset[str]] = {}
        """The (hypothetical) index names each statement's current plan uses."""
        self.planned: dict[int, Statement] = {}
        """What is planned for each queryid: the statement, or its plannable variant."""
        self.chosen: list[_Chosen] = []
        self.leaves = {relid: [TableRef(p.relid, p.schema, p.name)
                               for p in leaf_partitions(model, relid)]
                       for relid, t in model.tables.items() if t.relkind == "p"}

    def create(self, candidate: Candidate) -> _Hypo:
        tables = self.leaves.get(candidate.table.relid) or [candidate.table]
        parts: list[HypoIndex] = []
        try:
            for table in tables:
                parts.append(self.whatif.create(dataclasses.replace(candidate, table=table)))
        except WhatIfError:
            for part in parts:
                self.whatif.drop(part)
            raise
        return _Hypo(tuple(parts))

    def drop(self, hypo: _Hypo) -> None:
        for part in hypo.parts:
            self.whatif.drop(part)

    @contextlib.contextmanager
    def trying(self, candidate: Candidate) -> Iterator[_Hypo]:
        hypo = self.create(candidate)
        try:
            yield hypo
        finally:
            self.drop(hypo)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def plan_base(self, statement: Statement) -> Plan:
        """The plan without new indexes, through a plannable variant where needed (an
        UPDATE or DELETE: the read that finds its rows)."""
        if statement.kind in ("update", "delete"):
            read = read_equivalent(statement)
            if read is None:
                raise NotExplainable(f"no read equivalent of this {statement.kind.upper()}")
            statement = read
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
        old_names = chosen.hypo.names
        chosen.hypo = self.create(chosen.candidate)
        for queryid, names in self.using.items():
            if names & old_names:
                self.using[queryid] = (names - old_names) | chosen.hypo.names

    def _affected_by(self, candidates: Iterable[Candidate]) -> list[Statement]:
        out: dict[int, Statement] = {}
        for candidate in candidates:
            for st in self.affected(candidate):
                out.setdefault(st.queryid, st)
        return list(out.values())

    def trial(self, move: _Move) -> _Trial:
        """Plan the affected statements with the move applied, then undo it."""
        old = self._find(move.replaces) if move.replaces is not None else None
        statements = self._affected_by(
            [*move.adds, *([old.candidate] if old is not None else [])])
        if old is not None:
            self.drop(old.hypo)
        try:
            with contextlib.ExitStack() as stack:
                hypo = stack.enter_context(self.trying(move.candidate))
                extra = [stack.enter_context(self.trying(c))
                         for c in move.companions if self._find(c) is None]
                plans = self.whatif.costs(statements)
        finally:
            if old is not None:
                self.recreate(old)
        names = hypo.names.union(*(e.names for e in extra))
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
            if names & set(plan.index_names()) and plan.total_cost < before:
                helped.append(StatementEffect(st.queryid, calls, before, plan.total_cost,
                                              self.workload.statements[st.queryid].text))
                helped_cost += calls * before
        size = hypo.size_bytes + sum(e.size_bytes for e in extra) - (
            old.hypo.size_bytes if old is not None else 0)
        return _Trial(saving, helped, helped_cost, size)

    def apply(self, move: _Move, trial: _Trial, penalty: float, written: float,
              lost: float) -> _Chosen:
        old = self._find(move.replaces) if move.replaces is not None else None
        benefit = trial.saving - penalty
        if old is not None:
            self.drop(old.hypo)
            self.chosen.remove(old)
            benefit += old.benefit
        hypo = self.create(move.candidate)
        chosen = _Chosen(move.candidate, hypo, benefit, penalty, written, lost)
        self.chosen.append(chosen)
        for companion in move.companions:
            if self._find(companion) is None:
                extra, extra_written, extra_lost = write_overhead(
                    self.model, self.workload, companion, self.options)
                self.chosen.append(_Chosen(companion, self.create(companion), 0.0,
                                           extra, extra_written, extra_lost))
        # The names HypoPG gave in the trial are gone: re-plan what the move affected.
        for st in self._affected_by(
                [*move.adds, *([old.candidate] if old is not None else [])]):
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
        return [c for c in self.chosen if not c.hypo.names & used]

    def drop_chosen(self, chosen: _Chosen) -> None:
        self.drop(chosen.hypo)
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



def advise_with_hypopg(model: Model, workload: Workload, planner: Planner, whatif: WhatIf,
                       options: AdvisorOptions, progress: Progress | None = None) -> IndexPlan:
    """Lazy greedy by net benefit per byte over the candidates and, once an index is chosen,
    over its extensions by one key column (Schlosser et al.'s Extend), within the budget."""
    started = time.monotonic()
    plan = IndexPlan(method="hypopg", parse_failures=workload.failures.copy())
    if (note := write_cost_note(model)) is not None:
        plan.notes.append(note)
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
    candidates: CandidateSet = generate(workload, facts, considered, candidate_options(model))
    plan.already_indexed = [(c.label(), name) for c, name in candidates.already_indexed.items()]
    plan.candidates_considered = len(candidates.candidates)
    heap: list[tuple[float, int, _Move]] = []
    counter = itertools.count()

    def penalty_of(move: _Move) -> tuple[float, float, float]:
        penalty, written, lost = write_overhead(model, workload, move.candidate, options)
        penalty += sum(write_overhead(model, workload, c, options)[0]
                       for c in move.companions if search._find(c) is None)
        if move.replaces is not None:
            penalty -= write_overhead(model, workload, move.replaces, options)[0]
        return penalty, written, lost

    def push(move: _Move) -> _Trial | None:
        try:
            trial = search.trial(move)
        except WhatIfError as exc:
            why = str(exc)
            plan.rejected.append((move.label(), why if why.startswith("not planned")
                                  else f"HypoPG cannot simulate it: {why}"))
            return None
        if not trial.helped:
            if move.replaces is None:
                plan.rejected.append((move.label(), "the planner does not use it"))
            return None
        net = trial.saving - penalty_of(move)[0]
        heapq.heappush(heap, (-score_per_byte(net, trial.size), next(counter), move))
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
    for bundle in or_bundles(workload, facts, considered):
        if search.out_of_time():
            break
        push(_Move(bundle[0], companions=bundle[1:]))
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
        if move.replaces is None and len(search.chosen) >= options.pick_limit:
            plan.stopped_by = plan.stopped_by or f"--max-new {options.pick_limit}"
            continue
        try:
            trial = search.trial(move)
        except WhatIfError:
            continue
        penalty, written, lost = penalty_of(move)
        net = trial.saving - penalty
        if heap and score_per_byte(net, trial.size) < -heap[0][0]:
            heapq.heappush(heap, (-score_per_byte(net, trial.size), next(counter), move))
            continue
        label = move.label()
        if not trial.helped or net <= 0:
            if move.replaces is None:
                plan.rejected.append((label, "write overhead exceeds the saving"
                                      if trial.helped else
                                      "no longer helps once better picks exist"))
            continue
        if trial.helped_cost <= 0 or trial.saving / trial.helped_cost < options.improvement_floor:
            if move.replaces is None:
                plan.rejected.append((label, f"improves its statements by less than "
                                      f"{options.improvement_floor:.0%}"))
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
    plan.choices += gin_choices(model, workload, facts, candidates, options, plan,
                                 budget_left=None if budget is None else budget - used)
    name_choices(plan.choices, model)
    whatif.reset()
    plan.explains = whatif.explains
    plan.elapsed_s = time.monotonic() - started
    if progress:
        progress("done", 1.0)
    return plan


def _marginal(search: _Search, chosen: _Chosen) -> tuple[list[Statement], dict[int, float]]:
    """The statements whose plan uses a chosen index, and their cost without it (every
    other chosen index in place)."""
    users = [search.planned[q] for q, names in search.using.items()
             if chosen.hypo.names & names]
    search.drop(chosen.hypo)
    try:
        without = search.whatif.costs(users)
    finally:
        search.recreate(chosen)
    return users, {q: p.total_cost for q, p in without.items() if isinstance(p, Plan)}


def _prune(search: _Search, plan: IndexPlan) -> None:
    """Drop chosen indexes that do not earn their place beside the others.

    A greedy search can keep an index and a later pick that serves the same statements as
    well (its own key prefix, typically): each then shows no saving of its own. Until every
    chosen index saves more than its write overhead, and at least the improvement floor,
    on its own, the one that adds least goes and the statements it served are planned again.
    """
    floor = search.options.improvement_floor
    while search.chosen:
        worst: tuple[float, _Chosen] | None = None
        for chosen in search.chosen:
            users, without = _marginal(search, chosen)
            saving = sum(search.calls.get(st.queryid, 0) *
                         (without.get(st.queryid, search.current[st.queryid]) -
                          search.current[st.queryid]) for st in users)
            cost = sum(search.calls.get(st.queryid, 0) *
                       without.get(st.queryid, search.current[st.queryid]) for st in users)
            earns = saving - chosen.penalty > 0 and cost > 0 and saving / cost >= floor
            if not earns and (worst is None or saving - chosen.penalty < worst[0]):
                worst = (saving - chosen.penalty, chosen)
        if worst is None:
            return
        gone = worst[1]
        users = [search.planned[q] for q, names in search.using.items()
                 if gone.hypo.names & names]
        search.drop_chosen(gone)
        plan.rejected.append((gone.candidate.label(), "adds nothing of its own beside the "
                              "other chosen indexes"))
        for st in users:
            try:
                replanned = search.whatif.plan(st)
            except NotExplainable:
                continue
            search.current[st.queryid] = replanned.total_cost
            search.using[st.queryid] = frozenset(replanned.index_names())


def _final_choices(search: _Search, plan: IndexPlan,
                   facts: dict[int, TableFacts]) -> list[IndexChoice]:
    """Each chosen index with the statements whose final plan uses it, credited with what it
    alone adds: the cost with every chosen index, against the cost with all of them but
    this one (after `_prune`, that is a saving for every chosen index)."""
    _prune(search, plan)
    out = []
    for chosen in list(search.chosen):
        users, without = _marginal(search, chosen)
        effects = []
        saving = 0.0
        for st in users:
            cost_before = without.get(st.queryid, plan.plans_before[st.queryid].total_cost)
            after = search.current[st.queryid]
            if cost_before > after:
                calls = search.calls.get(st.queryid, 0)
                saving += calls * (cost_before - after)
                effects.append(StatementEffect(st.queryid, calls, cost_before, after,
                                               search.workload.statements[st.queryid].text))
        out.append(IndexChoice(
            candidate=chosen.candidate, name=chosen.candidate.name(),
            size_bytes=chosen.hypo.size_bytes, effects=effects,
            benefit=saving - chosen.penalty,
            write_overhead=chosen.penalty, rows_written=chosen.written,
            hot_updates_lost=chosen.lost,
            replaces=[] if chosen.candidate.table.relid in search.leaves else
            redundant_after(chosen.candidate, facts[chosen.candidate.table.relid].indexes)))
    out.sort(key=lambda c: -c.benefit)
    return out


# --- estimate model --------------------------------------------------------------------
