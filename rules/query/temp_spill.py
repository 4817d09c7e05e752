"""A statement spills sorts or hashes to temporary files: give it more work_mem."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.analyzer.units import GB, MB, format_bytes
from pgsage.rules._support.settings import display, pg_memory
from pgsage.rules._support.workload import block_size, short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._statements import set_local, statement_object


def _next_power_of_two(value: float) -> int:
    n = max(int(value), 1)
    return 1 << (n - 1).bit_length()


@register
class TempSpill(Rule["TempSpill.Options"]):
    """A statement spills sorts or hashes to temporary files: give it more work_mem.

    What it detects:
        Statements called at least `min_calls` times that wrote at least `min_temp_bytes`
        of temporary files over the window (pg_stat_statements temp_blks_written). The
        work_mem proposed for that statement is `factor` times the largest spill per
        call (an in-memory sort or hash needs more than its on-disk form), at least
        twice the current work_mem, rounded up to a power of two, at most
        `max_work_mem`. Medium from `medium_temp_bytes` over the window.

    Why it matters:
        A sort or hash that does not fit in work_mem is written to disk and read back:
        often ten times slower, and temp I/O competes with everything else. Raising
        work_mem for the whole server multiplies by every sort of every connection;
        raising it for the statement that needs it does not.

    Example:
        SELECT customer_id, sum(total) FROM orders GROUP BY 1 ORDER BY 2 DESC
        -- 24 MB of temp files per call with work_mem = 4MB

    What to do:
        Run the statement in a transaction that sets `SET LOCAL work_mem` to the proposed
        value (it ends with the transaction). When many statements spill, CF012 proposes
        a server-wide or per-role work_mem. When even `max_work_mem` is not enough, an
        index that provides the order, or a smaller result, is the fix.
    """

    code: ClassVar[str] = "QY002"
    name: ClassVar[str] = "query.temp_spill"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=5, metadata={"help": "calls a statement needs."})
        min_temp_bytes: int = field(default=16 * MB, metadata={
            "help": "temp bytes the statement wrote over the window."})
        medium_temp_bytes: int = field(default=GB, metadata={
            "help": "from this, the finding is medium."})
        factor: float = field(default=2.0, metadata={"help": "memory needed per byte spilled."})
        max_work_mem: int = field(default=GB, metadata={
            "help": "the largest work_mem proposed for one statement."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        work_mem = model.setting_bytes("work_mem") or 4 * MB
        block = block_size(model)
        found = model.totals
        for t in sorted(found.values(), key=lambda t: -t.temp_written):
            spilled = t.temp_written * block
            if t.calls < options.min_calls or spilled < options.min_temp_bytes:
                continue
            statement = model.workload.statements.get(t.queryid)
            if statement is not None and statement.kind in ("utility", "other"):
                continue  # CREATE INDEX, VACUUM, COPY: maintenance_work_mem, not work_mem
            per_call = spilled / t.calls
            wanted = _next_power_of_two(max(per_call * options.factor, work_mem * 2, 4 * MB))
            text = model.statement_text(t.queryid)
            common = (f"queryid {t.queryid} wrote {format_bytes(spilled)} of temporary files "
                      f"over {model.window.describe()} ({format_bytes(per_call)} per call, "
                      f"{t.calls:,} calls) with work_mem = {display(model, 'work_mem')}.")
            if wanted > options.max_work_mem:
                detail = (f"{common} Holding that in memory would take more than "
                          f"{pg_memory(options.max_work_mem)} per sort or hash: make the "
                          "result smaller (a filter, a LIMIT with an index that provides the "
                          "order) instead of raising work_mem.")
                action = None
                proposed = None
            else:
                proposed = pg_memory(wanted)
                detail = (f"{common} Give this statement work_mem = {proposed} with SET LOCAL "
                          "in its transaction: only it gets the memory, and only while it "
                          "runs. When many statements spill, CF012 weighs a server-wide or "
                          f"per-role work_mem instead.\n  {short(text, 400)}")
                action = set_local("work_mem", proposed, t.queryid, text)
            severity = (Severity.MEDIUM if spilled >= options.medium_temp_bytes
                        else self.severity)
            yield self.finding(
                severity=severity,
                title=(f"queryid {t.queryid} spills {format_bytes(per_call)} per call to disk"
                       + (f": SET LOCAL work_mem = {proposed}" if proposed else "")),
                detail=detail,
                object=statement_object(statement),
                action=action,
                impact={"queryids": [t.queryid], "temp_bytes": int(spilled)},
                evidence={**statement_evidence(model, t),
                          "work_mem": display(model, "work_mem"), "proposed_work_mem": proposed,
                          "temp_bytes_per_call": int(per_call)},
                benefit=spilled,
            )
