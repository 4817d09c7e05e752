"""random_page_cost is tuned for spinning disks on SSD storage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.rules._support.settings import applies, change, evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.config._planner import storage_kind


@register
class RandomPageCost(Rule["RandomPageCost.Options"]):
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
    """

    code: ClassVar[str] = "CF014"
    name: ClassVar[str] = "config.random_page_cost"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        max_cost: float = field(default=2.0, metadata={
            "help": "value from which random_page_cost is reported."})
        proposed: float = field(default=1.1, metadata={"help": "value proposed."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        value = model.setting("random_page_cost")
        ssd, storage = storage_kind(model)
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
