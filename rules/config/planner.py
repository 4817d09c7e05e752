"""Planner and execution settings: costs for SSD storage, JIT on a short-query workload."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.rules._settings import applies, change, display, evidence, how_it_applies, is_on
from pgsage.rules.base import Rule, register

JIT_TIMES = ("jit_generation_time", "jit_inlining_time", "jit_optimization_time",
             "jit_emission_time")


def _storage(model: Model) -> tuple[bool, str]:
    """(applies, phrase): SSD advice applies unless the user said the storage is hdd."""
    if model.host.storage == "ssd":
        return True, "the host's storage is SSD"
    if model.host.storage is None:
        return True, ("SSD storage is assumed (give --storage hdd or [host] storage = "
                      "\"hdd\" if the data is on spinning disks)")
    return False, "the host's storage is spinning disks"


@register
class RandomPageCost(Rule):
    """random_page_cost is tuned for spinning disks on SSD storage.

    What it detects:
        random_page_cost of `max_cost` or more when the storage is SSD (`--storage ssd`,
        `[host] storage`); when the storage is unknown SSD is assumed and the finding is
        low.

    Why it matters:
        The default 4.0 says a random read costs four sequential ones, true of spinning
        disks. On SSD (and most cloud volumes) random reads cost about the same, so the
        planner overprices index scans and picks sequential scans and bitmap scans where
        an index scan would be faster.

    Example:
        random_page_cost = 4 on NVMe storage

    What to do:
        Set random_page_cost = 1.1 (a reload suffices); check the plans of the heaviest
        statements afterwards.

    Options:
        max_cost: value from which random_page_cost is reported.
        proposed: value proposed.
    """

    code: ClassVar[str] = "CF014"
    name: ClassVar[str] = "config.random_page_cost"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        max_cost: float = 2.0
        proposed: float = 1.1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        value = model.setting("random_page_cost")
        ssd, storage = _storage(model)
        if value is None or not ssd or float(value) < options.max_cost:
            return
        proposed = f"{options.proposed:g}"
        yield self.finding(
            severity=self.severity if model.host.storage == "ssd" else Severity.LOW,
            title=f"Lower random_page_cost {value} -> {proposed} for SSD storage",
            detail=(f"random_page_cost is {value}, which prices a random page read at "
                    f"{float(value):g} sequential ones, as on spinning disks; {storage}, where "
                    "random reads cost about the same as sequential ones. Index scans are "
                    f"overpriced. The change {applies(model, 'random_page_cost')}."),
            object=ObjectRef(),
            action=change(model, {"random_page_cost": proposed}),
            evidence=evidence(model, "random_page_cost", proposed,
                              storage=model.host.storage or "assumed ssd"),
        )


@register
class EffectiveIoConcurrency(Rule):
    """effective_io_concurrency is left low on SSD storage.

    What it detects:
        effective_io_concurrency below `min_value` when the storage is SSD (assumed, and
        low, when unknown).

    Why it matters:
        It is how many reads PostgreSQL issues ahead during bitmap heap scans (and, from
        18, other read streams). SSDs serve many requests in parallel; a value of 1 (the
        default before 18) or 16 leaves most of that unused.

    Example:
        effective_io_concurrency = 1 on NVMe storage

    What to do:
        Set effective_io_concurrency = 200 (a reload suffices).

    Options:
        min_value: value below which it is reported.
        proposed: value proposed.
    """

    code: ClassVar[str] = "CF015"
    name: ClassVar[str] = "config.effective_io_concurrency"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_value: int = 32
        proposed: int = 200

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        value = model.setting("effective_io_concurrency")
        ssd, storage = _storage(model)
        if value is None or not ssd or int(value) >= options.min_value:
            return
        proposed = str(options.proposed)
        yield self.finding(
            title=f"Raise effective_io_concurrency {value} -> {proposed} for SSD storage",
            detail=(f"effective_io_concurrency is {value}: bitmap heap scans prefetch only "
                    f"that many pages ahead; {storage}, which serves many reads in parallel. "
                    f"The change {applies(model, 'effective_io_concurrency')}."),
            object=ObjectRef(),
            action=change(model, {"effective_io_concurrency": proposed}),
            evidence=evidence(model, "effective_io_concurrency", proposed,
                              storage=model.host.storage or "assumed ssd"),
        )


@register
class JitOnShortQueries(Rule):
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

    Options:
        min_share: share of execution time spent in JIT from which it is reported.
        oltp_mean_ms: mean execution time under which statements count as OLTP.
        min_jit_ms: JIT milliseconds over the window below which nothing is reported.
    """

    code: ClassVar[str] = "CF020"
    name: ClassVar[str] = "config.jit"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_share: float = 0.1
        oltp_mean_ms: float = 500.0
        min_jit_ms: float = 1000.0

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
