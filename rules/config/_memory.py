"""Memory settings against the host and the workload: shared_buffers, effective_cache_size,
work_mem (temp spills), maintenance_work_mem.

The host's RAM comes from `--memory` or `[host] memory`; without it 4 GB is assumed, the
finding says so, and it is never more severe than low: advice on a guess stays a hint.
"""

from __future__ import annotations

from typing import Any

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import ObjectRef, Recommendation, Severity
from pgsage.rules._support.settings import (
    change,
    display,
    evidence,
    how_it_applies,
    pg_memory,
)
from pgsage.rules.base import Rule


def _severity(model: Model, known: Severity) -> Severity:
    return Severity.LOW if model.host.memory_assumed else known


def setting_finding(rule: Rule[Any], model: Model, name: str, proposed: int, title: str,
                     why: str, severity: Severity, **more: Any) -> Recommendation:
    current = model.setting_bytes(name)
    text = pg_memory(proposed)
    setting = model.settings.get(name)
    return rule.finding(
        severity=_severity(model, severity),
        title=f"{title}: {name} {display(model, name)} -> {text}",
        detail=(f"{why} Host: {model.host.memory_phrase()}. Proposed {name} = {text} "
                f"(now {display(model, name)}); the change {how_it_applies(setting)}."),
        object=ObjectRef(),
        action=change(model, {name: text}),
        evidence=evidence(model, name, text, host_memory_bytes=model.host.memory,
                          host_memory_assumed=model.host.memory_assumed, **more),
        benefit=float(abs(proposed - (current or 0))),
    )
