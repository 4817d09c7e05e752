"""The report: the JSON contract of DESIGN.md, built from a model and its findings."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pgsage.analyzer import __version__
from pgsage.analyzer.model.core import Model, Window
from pgsage.analyzer.model.findings import Question, Recommendation, Severity
from pgsage.analyzer.model.snapshot import CollectorStatus, Target
from pgsage.analyzer.output.overview import Overview, build_overview

SCHEMA_VERSION = 1


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Report:
    target: Target
    window: Window
    """pg_stat_statements' window, the one most findings rest on."""
    collectors: dict[str, CollectorStatus]
    recommendations: list[Recommendation]
    notes: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    """What the rules could not see from SQL, for a person to answer."""
    sections: dict[str, Any] = field(default_factory=dict)
    """Extra JSON sections a command adds (e.g. `index_plan` from `pgsage indexes`)."""
    windows: dict[str, Window] = field(default_factory=dict)
    """Every counter family's window (statements, tables, bgwriter, wal, archiver)."""
    appendix: str = ""
    """The same sections as plain text, printed after the findings in table and Markdown."""
    overview: Overview | None = None
    """Where the time goes, sizes, connections...: shown whatever the findings."""

    def limited(self, top: int | None = None, min_severity: Severity | None = None) -> Report:
        """The report with only the first `top` findings at or above `min_severity`; the
        notes say how many were left out. Every format numbers what is left alike."""
        kept = [r for r in self.recommendations
                if min_severity is None or r.severity.rank >= min_severity.rank]
        notes = list(self.notes)
        below = len(self.recommendations) - len(kept)
        if below:
            notes.append(f"{below} finding(s) below {min_severity} not shown (--min-severity)")
        if top is not None and len(kept) > top:
            notes.append(f"{len(kept) - top} more finding(s) not shown (--top {top})")
            kept = kept[:top]
        return dataclasses.replace(self, recommendations=kept, notes=notes)

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "by_severity": dict(Counter(r.severity.value for r in self.recommendations)),
            "by_category": dict(Counter(r.category.value for r in self.recommendations)),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "pgsage_version": __version__,
            "target": {
                "database": self.target.database,
                "host": self.target.host,
                "port": self.target.port,
                "server_version_num": self.target.server_version_num,
            },
            "window": {**self.window.to_json(),
                       "families": {name: w.to_json() for name, w in self.windows.items()}},
            "collectors": {k: v.to_json() for k, v in self.collectors.items()},
            "summary": self.counts(),
            "notes": list(self.notes),
            "questions": [q.to_json() for q in self.questions],
            **({"overview": self.overview.to_json()} if self.overview else {}),
            **self.sections,
            "recommendations": [{"rank": n, **r.to_json()}
                                for n, r in enumerate(self.recommendations, 1)],
        }


def build(model: Model, recommendations: list[Recommendation], notes: list[str],
          questions: list[Question] | None = None) -> Report:
    return Report(
        target=model.snapshot.target,
        window=model.window,
        windows=model.windows,
        collectors=dict(model.snapshot.status),
        recommendations=recommendations,
        notes=notes,
        questions=list(questions or []),
        overview=build_overview(model),
    )
