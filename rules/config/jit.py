"""JIT compilation costs more than it saves on this workload."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.rules._support.settings import change, display, evidence, how_it_applies, is_on
from pgsage.rules.base import Rule, register

JIT_TIMES = ("jit_generation_time", "jit_inlining_time", "jit_optimization_time",
             "jit_emission_time")


@register
class JitOnShortQueries(Rule["JitOnShortQueries.Options"]):
    """JIT compilation costs more than it saves on this workload.

    What it detects:
        jit = on and statements that were JIT-compiled spending at least `min_share` of
        their execution time compiling, over the window. When those statements are short
        (mean under `oltp_mean_ms`), the proposal is jit = off; otherwise raising
        jit_above_cost tenfold.

    Why it matters:
        JIT compiles expressions to machine code when a plan's estimated cost passes
        jit_above_cost. Compiling takes tens to hundreds of milliseconds: it pays off for
        long analytical queries, and makes short OLTP statements whose cost is
        overestimated (often after a bad row estimate) many times slower.

    Example:
        SELECT ... 30 ms of execution, 120 ms of which JIT generation and optimization

    What to do:
        Turn jit off (reload, no restart), or per role for the OLTP application only
        (ALTER ROLE app SET jit = off); for mixed workloads raise jit_above_cost.
    """

    code: ClassVar[str] = "CF020"
    name: ClassVar[str] = "config.jit"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_share: float = field(default=0.1, metadata={
            "help": "share of execution time spent in JIT from which it is reported."})
        oltp_mean_ms: float = field(default=500.0, metadata={
            "help": "mean execution time under which statements count as OLTP."})
        min_jit_ms: float = field(default=1000.0, metadata={
            "help": "JIT milliseconds over the window below which nothing is reported."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        frame = model.statements
        if not is_on(model, "jit") or frame.empty or "jit_functions" not in frame:
            return
        jitted = frame[frame["jit_functions"].fillna(0) > 0]
        if jitted.empty:
            return
        jit_ms = float(sum(jitted[c].fillna(0).sum() for c in JIT_TIMES if c in jitted))
        exec_ms = float(jitted["total_exec_time"].sum())
        calls = int(jitted["calls"].sum())
        if jit_ms < options.min_jit_ms or exec_ms <= 0 or jit_ms / exec_ms < options.min_share:
            return
        mean = exec_ms / max(calls, 1)
        queryids = [int(q) for q in jitted.sort_values("total_exec_time", ascending=False)
                    ["queryid"].head(5)]
        if mean < options.oltp_mean_ms:
            name, proposed = "jit", "off"
            how = (f"these statements average {mean:,.1f} ms: an OLTP workload that JIT only "
                   "slows down")
        else:
            name = "jit_above_cost"
            proposed = str(int(float(model.setting("jit_above_cost") or 100000) * 10))
            how = (f"these statements average {mean:,.1f} ms, long enough that JIT may help "
                   "some of them: compile only the most expensive plans")
        yield self.finding(
            title=f"JIT compilation takes {jit_ms / exec_ms:.0%} of the time of compiled "
                  f"statements: {name} {display(model, name)} -> {proposed}",
            detail=(f"{len(jitted)} statements were JIT-compiled over {model.window.describe()} "
                    f"({calls:,} calls): {jit_ms:,.0f} ms compiling out of {exec_ms:,.0f} ms "
                    f"of execution; {how}. The change "
                    f"{how_it_applies(model.settings.get(name))}; per role: ALTER ROLE ... "
                    f"SET {name} = '{proposed}'."),
            object=ObjectRef(),
            action=change(model, {name: proposed}),
            impact={"queryids": queryids},
            evidence=evidence(model, name, proposed, jit_ms=round(jit_ms, 1),
                              exec_ms=round(exec_ms, 1), jit_share=round(jit_ms / exec_ms, 4),
                              jitted_statements=len(jitted), mean_exec_ms=round(mean, 2)),
            benefit=jit_ms,
        )
