"""effective_io_concurrency is left low on SSD storage."""

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
class EffectiveIoConcurrency(Rule["EffectiveIoConcurrency.Options"]):
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
    """

    code: ClassVar[str] = "CF015"
    name: ClassVar[str] = "config.effective_io_concurrency"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_value: int = field(default=32, metadata={"help": "value below which it is reported."})
        proposed: int = field(default=200, metadata={"help": "value proposed."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        value = model.setting("effective_io_concurrency")
        ssd, storage = storage_kind(model)
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
