"""shared_buffers is far from a quarter of the host's RAM."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.analyzer.units import format_bytes
from pgsage.rules._support.settings import display, round_memory
from pgsage.rules.base import Rule, register
from pgsage.rules.config._memory import setting_finding


def data_bytes(model: Model) -> int | None:
    """Size of all databases of the cluster (this one alone when the others are unreadable)."""
    sizes = [d.bytes for d in model.databases if d.bytes is not None]
    if sizes:
        return sum(sizes)
    return model.server.database_bytes if model.server else None


@register
class SharedBuffers(Rule["SharedBuffers.Options"]):
    """shared_buffers is far from a quarter of the host's RAM.

    What it detects:
        shared_buffers below half of `share` of the host's RAM (while the data is larger
        than shared_buffers), or above `max_share` of it. The proposal is `share` of RAM,
        rounded.

    Why it matters:
        shared_buffers is PostgreSQL's own cache. Too small (the default 128MB) and hot
        data is read through the kernel again and again; too large and it crowds out the
        OS page cache and work_mem, and checkpoints have more to write. A quarter of RAM
        is the long-standing starting point for a dedicated server.

    Example:
        shared_buffers = 128MB on a 16 GB host with a 40 GB database

    What to do:
        ALTER SYSTEM SET shared_buffers and restart (context postmaster). Give the host's
        RAM with --memory; above 8 GB of shared_buffers also consider huge_pages.
    References:
        https://www.postgresql.org/docs/current/runtime-config-resource.html
    """

    code: ClassVar[str] = "CF010"
    name: ClassVar[str] = "config.shared_buffers"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        share: float = field(default=0.25, metadata={"help": "fraction of RAM proposed."})
        max_share: float = field(default=0.5, metadata={
            "help": "fraction of RAM above which shared_buffers is too large."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        current = model.setting_bytes("shared_buffers")
        now = display(model, "shared_buffers")
        if current is None or current <= 0:
            return
        ram = model.host.memory
        target = round_memory(ram * options.share)
        data = data_bytes(model)
        db = model.database
        hit = None
        if db is not None and db.blks_hit + db.blks_read > 0:
            hit = db.blks_hit / (db.blks_hit + db.blks_read)
        hit_text = f" The cache hit ratio of this database is {hit:.2%}." if hit is not None else ""
        if current < target / 2 and (data is None or data > current):
            yield setting_finding(
                self, model, "shared_buffers", target, "Raise shared_buffers",
                f"shared_buffers is {now}, {current / ram:.1%} of RAM, for "
                f"{format_bytes(data)} of data.{hit_text}",
                self.severity, data_bytes=data, cache_hit_ratio=hit)
        elif current > ram * options.max_share:
            yield setting_finding(
                self, model, "shared_buffers", target, "Lower shared_buffers",
                f"shared_buffers is {now}, {current / ram:.0%} of RAM: it "
                "leaves too little for the OS page cache, work_mem and maintenance.",
                Severity.HIGH if current > ram * 0.8 else self.severity,
                data_bytes=data, cache_hit_ratio=hit)
