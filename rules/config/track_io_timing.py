"""track_io_timing is off: nobody can tell how long reads and writes take."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.rules._support.settings import applies, change, evidence, is_on
from pgsage.rules.base import NoOptions, Rule, register


@register
class TrackIoTimingOff(Rule[NoOptions]):
    """track_io_timing is off: nobody can tell how long reads and writes take.

    What it detects:
        track_io_timing = off.

    Why it matters:
        Without it pg_stat_statements, pg_stat_database, pg_stat_io and EXPLAIN (ANALYZE,
        BUFFERS) count blocks read but not the time spent reading them, so a slow disk
        and a cold cache look the same as a fast one. The overhead is a clock read per
        I/O, negligible on current systems (pg_test_timing shows it).

    Example:
        track_io_timing = off (the default)

    What to do:
        Turn it on; a reload suffices (context superuser).
    """

    code: ClassVar[str] = "CF017"
    name: ClassVar[str] = "config.track_io_timing"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if is_on(model, "track_io_timing") is not False:
            return
        yield self.finding(
            title="Turn on track_io_timing: I/O time is not measured",
            detail=("track_io_timing is off, so pg_stat_statements and pg_stat_database "
                    "count blocks read and written but not the time they took: slow storage "
                    "cannot be told from a cold cache. The cost is one clock read per I/O "
                    "(run pg_test_timing on the host to see it is small). The change "
                    f"{applies(model, 'track_io_timing')}."),
            object=ObjectRef(),
            action=change(model, {"track_io_timing": "on"}),
            evidence=evidence(model, "track_io_timing", "on"),
        )
