"""JIT compilation takes most of a short statement's time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._statements import set_local, statement_object


@register
class JitOnShortStatement(Rule["JitOnShortStatement.Options"]):
    """JIT compilation takes most of a short statement's time.

    What it detects:
        Statements that were JIT-compiled, spent at least `min_jit_ms` compiling over the
        window and at least `min_share` of their execution time in JIT, with a mean
        execution under `short_ms`. One finding per statement; CF020 looks at the whole
        workload and proposes the server-wide setting.

    Why it matters:
        JIT kicks in when a plan's estimated cost passes jit_above_cost; a short statement
        whose cost is overestimated (often from a bad row estimate) then spends tens of
        milliseconds compiling code that runs for one.

    Example:
        SELECT ... 40 ms per call, 31 ms of it JIT generation, inlining and optimization

    What to do:
        Run the statement with JIT off (`SET LOCAL jit = off` in its transaction), and
        look at why its estimated cost is high (QY104 for estimates); for many such
        statements, CF020's server-wide change.
    """

    code: ClassVar[str] = "QY014"
    name: ClassVar[str] = "query.jit"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_share: float = field(default=0.5, metadata={
            "help": "share of the statement's execution time spent in JIT."})
        short_ms: float = field(default=1000.0, metadata={
            "help": "mean execution time under which a statement is short."})
        min_jit_ms: float = field(default=500.0, metadata={
            "help": "JIT milliseconds over the window at least."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for t in model.totals.values():
            if t.jit_functions <= 0 or t.jit_ms < options.min_jit_ms or t.exec_ms <= 0:
                continue
            share = t.jit_ms / t.exec_ms
            if share < options.min_share or t.mean_exec_ms >= options.short_ms:
                continue
            statement = model.workload.statements.get(t.queryid)
            plan = model.plans.get(t.queryid)
            above = model.setting("jit_above_cost")
            cost = (f" Its generic plan costs {plan.total_cost:,.0f} against jit_above_cost "
                    f"{above}." if plan and above else "")
            text = model.statement_text(t.queryid)
            yield self.finding(
                title=f"JIT takes {share:.0%} of queryid {t.queryid}'s "
                      f"{t.mean_exec_ms:,.1f} ms: SET LOCAL jit = off",
                detail=(f"queryid {t.queryid} spent {t.jit_ms:,.0f} ms of {t.exec_ms:,.0f} ms "
                        f"of execution compiling with JIT over {model.window.describe()} "
                        f"({t.calls:,} calls, {t.jit_ms / t.calls:,.1f} ms per call).{cost} "
                        "Turn JIT off for this statement; the planner's cost estimate that "
                        "triggers it is probably too high. CF020 weighs the server-wide "
                        f"setting.\n  {short(text, 300)}"),
                object=statement_object(statement),
                action=set_local("jit", "off", t.queryid, text),
                impact={"queryids": [t.queryid], "jit_ms": round(t.jit_ms, 1)},
                evidence={**statement_evidence(model, t), "jit_ms": round(t.jit_ms, 1),
                          "jit_share": round(share, 4), "jit_above_cost": above},
                benefit=t.jit_ms,
            )
