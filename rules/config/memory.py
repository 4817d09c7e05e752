"""Memory settings against the host and the workload: shared_buffers, effective_cache_size,
work_mem (temp spills), maintenance_work_mem.

The host's RAM comes from `--memory` or `[host] memory`; without it 4 GB is assumed, the
finding says so, and it is never more severe than low: advice on a guess stays a hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import format_bytes
from pgsage.rules._settings import GB, MB, change, evidence, how_it_applies, pg_memory, round_memory
from pgsage.rules.base import Rule, register


def _severity(model: Model, known: Severity) -> Severity:
    return Severity.LOW if model.host.memory_assumed else known


def data_bytes(model: Model) -> int | None:
    """Size of all databases of the cluster (this one alone when the others are unreadable)."""
    sizes = [d.bytes for d in model.databases if d.bytes is not None]
    if sizes:
        return sum(sizes)
    return model.server.database_bytes if model.server else None


def _setting_finding(rule: Rule, model: Model, name: str, proposed: int, title: str,
                     why: str, severity: Severity, **more: Any) -> Recommendation:
    current = model.setting_bytes(name)
    text = pg_memory(proposed)
    setting = model.settings.get(name)
    return rule.finding(
        severity=_severity(model, severity),
        title=f"{title}: {name} {pg_memory(current or 0)} -> {text}",
        detail=(f"{why} Host: {model.host.memory_phrase()}. Proposed {name} = {text} "
                f"(now {pg_memory(current or 0)}); the change {how_it_applies(setting)}."),
        object=ObjectRef(),
        action=change(model, {name: text}),
        evidence=evidence(model, name, text, host_memory_bytes=model.host.memory,
                          host_memory_assumed=model.host.memory_assumed, **more),
        benefit=float(abs(proposed - (current or 0))),
    )


@register
class SharedBuffers(Rule):
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

    Options:
        share: fraction of RAM proposed.
        max_share: fraction of RAM above which shared_buffers is too large.

    References:
        https://www.postgresql.org/docs/current/runtime-config-resource.html
    """

    code: ClassVar[str] = "CF010"
    name: ClassVar[str] = "config.shared_buffers"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        share: float = 0.25
        max_share: float = 0.5

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        current = model.setting_bytes("shared_buffers")
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
            yield _setting_finding(
                self, model, "shared_buffers", target, "Raise shared_buffers",
                f"shared_buffers is {pg_memory(current)}, {current / ram:.1%} of RAM, for "
                f"{format_bytes(data)} of data.{hit_text}",
                self.severity, data_bytes=data, cache_hit_ratio=hit)
        elif current > ram * options.max_share:
            yield _setting_finding(
                self, model, "shared_buffers", target, "Lower shared_buffers",
                f"shared_buffers is {pg_memory(current)}, {current / ram:.0%} of RAM: it "
                "leaves too little for the OS page cache, work_mem and maintenance.",
                Severity.HIGH if current > ram * 0.8 else self.severity,
                data_bytes=data, cache_hit_ratio=hit)


@register
class EffectiveCacheSize(Rule):
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

    Options:
        share: fraction of RAM proposed.
    """

    code: ClassVar[str] = "CF011"
    name: ClassVar[str] = "config.effective_cache_size"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        share: float = 0.75

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        current = model.setting_bytes("effective_cache_size")
        if current is None or current <= 0:
            return
        ram = model.host.memory
        target = round_memory(ram * options.share)
        if current < target / 2:
            why = (f"effective_cache_size is {pg_memory(current)}, {current / ram:.0%} of RAM: "
                   "the planner assumes little of the data is cached and undervalues index "
                   "scans.")
            yield _setting_finding(self, model, "effective_cache_size", target,
                                   "Raise effective_cache_size", why, self.severity)
        elif current > ram:
            why = (f"effective_cache_size is {pg_memory(current)}, more than the host's RAM: "
                   "the planner expects cached data that cannot be.")
            yield _setting_finding(self, model, "effective_cache_size", target,
                                   "Lower effective_cache_size", why, self.severity)


@register
class WorkMemSpills(Rule):
    """Statements spill sorts and hashes to temporary files: work_mem is too small for them.

    What it detects:
        Statements called at least `min_calls` times that wrote temporary files over the
        window, when together they wrote at least `min_temp_bytes`. The proposal is the
        next power of two above the largest per-call spill, if the host can afford it
        for every connection (a quarter of the RAM left after shared_buffers, divided by
        max_connections); otherwise the larger work_mem goes only to the roles that run
        those statements (ALTER ROLE ... SET work_mem).

    Why it matters:
        A sort or hash that does not fit in work_mem is written to disk and read back,
        often ten times slower, and temp I/O competes with everything else. work_mem is
        per sort or hash node, per connection: raising it globally multiplies.

    Example:
        SELECT ... ORDER BY created_at   -- 48 MB temp written per call, work_mem = 4MB

    What to do:
        Raise work_mem as proposed (reload, no restart), or for the roles of the heavy
        statements only; keep log_temp_files = 0 to see what still spills.

    Options:
        min_calls: calls a statement needs to count.
        min_temp_bytes: temp bytes written by the counted statements over the window.
        max_listed: statements named in the finding.
    """

    code: ClassVar[str] = "CF012"
    name: ClassVar[str] = "config.work_mem"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 10
        min_temp_bytes: int = 64 * MB
        max_listed: int = 5

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        frame = model.statements
        work_mem = model.setting_bytes("work_mem")
        if frame.empty or work_mem is None or "temp_blks_written" not in frame:
            return
        block = model.server.block_size if model.server else 8192
        spills = frame[(frame["temp_blks_written"] > 0) & (frame["calls"] >= options.min_calls)]
        if spills.empty:
            return
        total = float(spills["temp_blks_written"].sum()) * block
        if total < options.min_temp_bytes:
            return
        per_call = (spills["temp_blks_written"] * block / spills["calls"]).astype(float)
        spills = spills.assign(per_call=per_call).sort_values("per_call", ascending=False)
        wanted = max(int(float(spills["per_call"].max()) * 1.25), work_mem * 2)
        needed = 1 << (wanted - 1).bit_length()  # the next power of two
        needed = max(needed, 8 * MB)
        shared = model.setting_bytes("shared_buffers") or 0
        conns = int(model.setting("max_connections") or 100)
        budget = max(int((model.host.memory - shared) * 0.25 / max(conns, 1)), 4 * MB)
        top = spills.head(options.max_listed)
        queryids = [int(q) for q in top["queryid"]]
        listed = ", ".join(f"{q} ({format_bytes(b)} per call)"
                           for q, b in zip(queryids, top["per_call"], strict=True))
        window = model.window.describe()
        setting = model.settings.get("work_mem")
        common = (f"{len(spills)} statements wrote {format_bytes(total)} of temporary files "
                  f"over {window} (work_mem is {pg_memory(work_mem)}); the largest per "
                  f"call: {listed}.")
        if needed <= budget:
            proposed = pg_memory(needed)
            detail = (f"{common} {proposed} per sort or hash fits the host: a quarter of the "
                      f"RAM left after shared_buffers over {conns} connections is "
                      f"{format_bytes(budget)} ({model.host.memory_phrase()}). The change "
                      f"{how_it_applies(setting)}.")
            action = change(model, {"work_mem": proposed})
            where = "globally"
        else:
            proposed = pg_memory(min(needed, 2 * GB))
            users = sorted({str(u) for u in top.get("username", []) if isinstance(u, str)})
            detail = (f"{common} {proposed} for every connection would exceed what the host "
                      f"can give each of {conns} connections ({format_bytes(budget)}, "
                      f"{model.host.memory_phrase()}), so give it only to the roles that run "
                      f"them ({', '.join(users) or 'unknown'}), or SET LOCAL work_mem in "
                      "their transactions; new sessions of the role pick it up.")
            sql = "\n".join(f"ALTER ROLE {ident(u)} SET work_mem = {literal(proposed)};"
                            for u in users)
            undo = " ".join(f"ALTER ROLE {ident(u)} RESET work_mem;" for u in users)
            action = (Action(sql=sql, undo_sql=undo) if users
                      else change(model, {"work_mem": proposed}))
            where = "per role"
        yield self.finding(
            title=f"Sorts and hashes spill to disk: work_mem {pg_memory(work_mem)} -> "
                  f"{proposed} ({where})",
            detail=detail,
            action=action,
            impact={"queryids": queryids},
            evidence=evidence(model, "work_mem", proposed, temp_bytes=round(total),
                              spilling_statements=len(spills),
                              per_connection_budget_bytes=budget,
                              host_memory_assumed=model.host.memory_assumed),
            benefit=total,
        )


@register
class MaintenanceWorkMem(Rule):
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

    Options:
        max_bytes: upper bound of the proposal.
        min_table_bytes: largest-table size from which the rule speaks on assumed RAM.
    """

    code: ClassVar[str] = "CF013"
    name: ClassVar[str] = "config.maintenance_work_mem"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        max_bytes: int = 2 * GB
        min_table_bytes: int = 1 * GB

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        current = model.setting_bytes("maintenance_work_mem")
        if current is None or current <= 0:
            return
        target = round_memory(min(model.host.memory / 16, options.max_bytes))
        largest = max((t.table_bytes or 0 for t in model.tables.values()), default=0)
        if current >= target / 2:
            return
        if model.host.memory_assumed and largest < options.min_table_bytes:
            return
        workers = model.setting("autovacuum_max_workers") or "3"
        yield _setting_finding(
            self, model, "maintenance_work_mem", target, "Raise maintenance_work_mem",
            f"maintenance_work_mem is {pg_memory(current)}; the largest table is "
            f"{format_bytes(largest)}. Vacuum of large tables then needs several passes over "
            f"every index; each of the {workers} autovacuum workers may use this much.",
            self.severity, largest_table_bytes=largest)
