"""maintenance_work_mem is small for the host and the tables it maintains."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.analyzer.units import GB, format_bytes
from pgsage.rules._support.settings import display, round_memory
from pgsage.rules.base import Rule, register
from pgsage.rules.config._memory import setting_finding


@register
class MaintenanceWorkMem(Rule["MaintenanceWorkMem.Options"]):
    """maintenance_work_mem is small for the host and the tables it maintains.

    What it detects:
        maintenance_work_mem below half of the proposal: RAM / 16, at most `max_bytes`,
        when the host's RAM was given or the largest table is at least `min_table_bytes`.
        Low severity: it makes maintenance slower, not queries.

    Why it matters:
        VACUUM (and autovacuum, unless autovacuum_work_mem is set) keeps the dead tuple
        ids it collects in maintenance_work_mem; when full, it scans every index of the
        table again. CREATE INDEX and ALTER TABLE ADD FOREIGN KEY also sort in it. Too
        small a value makes vacuum of big tables take several index passes.

    Example:
        maintenance_work_mem = 64MB (the default) with a 200 GB table

    What to do:
        Raise it (reload, no restart). Each autovacuum worker may use this much: with
        autovacuum_max_workers = 3 that is three times the value.
    """

    code: ClassVar[str] = "CF013"
    name: ClassVar[str] = "config.maintenance_work_mem"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        max_bytes: int = field(default=2 * GB, metadata={"help": "upper bound of the proposal."})
        min_table_bytes: int = field(default=1 * GB, metadata={
            "help": "largest-table size from which the rule speaks on assumed RAM."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        current = model.setting_bytes("maintenance_work_mem")
        now = display(model, "maintenance_work_mem")
        if current is None or current <= 0:
            return
        target = round_memory(min(model.host.memory / 16, options.max_bytes))
        largest = max((t.table_bytes or 0 for t in model.tables.values()), default=0)
        if current >= target / 2:
            return
        if model.host.memory_assumed and largest < options.min_table_bytes:
            return
        workers = model.setting("autovacuum_max_workers") or "3"
        yield setting_finding(
            self, model, "maintenance_work_mem", target, "Raise maintenance_work_mem",
            f"maintenance_work_mem is {now}; the largest table is "
            f"{format_bytes(largest)}. Vacuum of large tables then needs several passes over "
            f"every index; each of the {workers} autovacuum workers may use this much.",
            self.severity, largest_table_bytes=largest)
