"""Statements spill sorts and hashes to temporary files: work_mem is too small for them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import GB, MB, format_bytes
from pgsage.rules._support.settings import (
    change,
    display,
    evidence,
    how_it_applies,
    pg_memory,
)
from pgsage.rules.base import Rule, register


@register
class WorkMemSpills(Rule["WorkMemSpills.Options"]):
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
    """

    code: ClassVar[str] = "CF012"
    name: ClassVar[str] = "config.work_mem"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=10, metadata={"help": "calls a statement needs to count."})
        min_temp_bytes: int = field(default=64 * MB, metadata={
            "help": "temp bytes written by the counted statements over the window."})
        max_listed: int = field(default=5, metadata={"help": "statements named in the finding."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        frame = model.statements
        work_mem = model.setting_bytes("work_mem")
        now = display(model, "work_mem")
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
                  f"over {window} (work_mem is {now}); the largest per "
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
            title=f"Sorts and hashes spill to disk: work_mem {now} -> "
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
