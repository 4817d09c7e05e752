"""effective_cache_size does not describe the memory available for caching."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.rules._support.settings import display, round_memory
from pgsage.rules.base import Rule, register
from pgsage.rules.config._memory import setting_finding


@register
class EffectiveCacheSize(Rule["EffectiveCacheSize.Options"]):
    """effective_cache_size does not describe the memory available for caching.

    What it detects:
        effective_cache_size below half of `share` of RAM, or above the host's RAM.

    Why it matters:
        It allocates nothing: it tells the planner how much of the data is likely cached
        (shared_buffers plus the OS page cache). Too low and index scans look expensive,
        so the planner prefers sequential scans; too high and it expects cache that is
        not there.

    Example:
        effective_cache_size = 4GB (the default) on a 64 GB host

    What to do:
        Set it to about three quarters of RAM on a dedicated server (a reload suffices).
    """

    code: ClassVar[str] = "CF011"
    name: ClassVar[str] = "config.effective_cache_size"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        share: float = field(default=0.75, metadata={"help": "fraction of RAM proposed."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        current = model.setting_bytes("effective_cache_size")
        now = display(model, "effective_cache_size")
        if current is None or current <= 0:
            return
        ram = model.host.memory
        target = round_memory(ram * options.share)
        if current < target / 2:
            why = (f"effective_cache_size is {now}, {current / ram:.0%} of RAM: "
                   "the planner assumes little of the data is cached and undervalues index "
                   "scans.")
            yield setting_finding(self, model, "effective_cache_size", target,
                                   "Raise effective_cache_size", why, self.severity)
        elif current > ram:
            why = (f"effective_cache_size is {now}, more than the host's RAM: "
                   "the planner expects cached data that cannot be.")
            yield setting_finding(self, model, "effective_cache_size", target,
                                   "Lower effective_cache_size", why, self.severity)
