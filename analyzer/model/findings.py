"""Recommendations: what a rule found and what to do, in the shape of the JSON contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe; `--fail-on` compares ranks."""
        return {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}[self.value]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.lower())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (use one of: {allowed})") from None


class Category(StrEnum):
    INDEX = "index"
    QUERY = "query"
    PARTITIONING = "partitioning"
    POOLING = "pooling"
    SCALING = "scaling"
    CONFIG = "config"
    MAINTENANCE = "maintenance"
    SCHEMA = "schema"
    BACKUP = "backup"
    SECURITY = "security"
    MIGRATION = "migration"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """What a finding is about; a sequence or a setting goes in detail and evidence."""

    schema: str | None = None
    table: str | None = None
    index: str | None = None
    columns: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"schema": self.schema, "table": self.table, "index": self.index,
                "columns": list(self.columns) if self.columns is not None else None}


@dataclass(frozen=True, slots=True)
class Action:
    """Complete, runnable SQL (identifiers quoted by a library) and how to undo it."""

    sql: str | None = None
    undo_sql: str | None = None
    shell: str | None = None
    """A command for the database host where SQL cannot do it (pg_checksums, pg_repack,
    editing pg_hba.conf, a restart); in the JSON only when present."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sql": self.sql, "undo_sql": self.undo_sql}
        if self.shell is not None:
            out["shell"] = self.shell
        return out


@dataclass(frozen=True, slots=True)
class Recommendation:
    rule: str
    category: Category
    severity: Severity
    title: str
    detail: str
    object: ObjectRef = field(default_factory=ObjectRef)
    action: Action | None = None
    impact: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    benefit: float = 0.0
    """The rule's own measure of value, which ranks findings without a time gain."""
    gain: TimeGain | None = None
    """Database time the finding's statements take and what the fix would save (engine)."""
    default_severity: Severity | None = None
    """The rule's default severity, set by the engine; differs where the rule adjusted it."""
    members: tuple[Recommendation, ...] = ()
    """The findings this one groups (same rule, same cause, several objects), in order."""

    @property
    def objects(self) -> tuple[ObjectRef, ...]:
        """Every object the finding is about: its members' objects, or its own."""
        return tuple(m.object for m in self.members) or (self.object,)

    @property
    def adjusted_from(self) -> Severity | None:
        """The rule's default severity where this finding's severity differs from it."""
        if self.default_severity is None or self.default_severity is self.severity:
            return None
        return self.default_severity

    def to_json(self) -> dict[str, Any]:
        out = self._own_json()
        out["objects"] = [o.to_json() for o in self.objects]
        if self.members:
            out["members"] = [m._own_json() for m in self.members]
        if self.default_severity is not None:
            out["default_severity"] = self.default_severity.value
        if self.gain is not None:
            out["time"] = self.gain.to_json()
        return out

    def _own_json(self) -> dict[str, Any]:
        impact = dict(self.impact)
        if "queryids" in impact:
            impact["queryids"] = [str(q) for q in impact["queryids"]]
        return {
            "rule": self.rule,
            "category": self.category.value,
            "severity": self.severity.value,
            "title": self.title,
            "detail": self.detail,
            "object": self.object.to_json(),
            "action": self.action.to_json() if self.action else None,
            "impact": impact,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class StatementTime:
    """One statement a finding is about: its measured mean and, for index advice, the mean
    the planner's cost ratio predicts with the fix."""

    queryid: str
    calls: float
    """Calls over the window."""
    mean_ms: float
    """Measured mean execution time over the window."""
    after_ms: float | None = None
    """Estimated mean with the fix: `mean_ms` times the planner's cost after/before."""

    def to_json(self) -> dict[str, Any]:
        return {"queryid": self.queryid, "calls": round(self.calls, 1),
                "mean_ms": round(self.mean_ms, 3),
                "after_ms": round(self.after_ms, 3) if self.after_ms is not None else None}


@dataclass(frozen=True, slots=True)
class TimeGain:
    """Database time in milliseconds over a window: what the statements took (measured) and
    what the fix would save (estimated, None where the finding cannot tell)."""

    window_seconds: float
    """0 when the window is unknown: then no rate per hour is given."""
    spent_ms: float
    saved_ms: float | None = None
    statements: tuple[StatementTime, ...] = ()

    def per_hour(self, ms: float | None) -> float | None:
        if ms is None or self.window_seconds <= 0:
            return None
        return ms * 3600.0 / self.window_seconds

    def __add__(self, other: TimeGain) -> TimeGain:
        saved = (None if self.saved_ms is None and other.saved_ms is None
                 else (self.saved_ms or 0.0) + (other.saved_ms or 0.0))
        return TimeGain(self.window_seconds, self.spent_ms + other.spent_ms, saved,
                        self.statements + other.statements)

    def to_json(self) -> dict[str, Any]:
        def ms(value: float | None) -> float | None:
            return round(value, 3) if value is not None else None

        return {"window_seconds": round(self.window_seconds, 3),
                "spent_ms": ms(self.spent_ms), "saved_ms": ms(self.saved_ms),
                "spent_ms_per_hour": ms(self.per_hour(self.spent_ms)),
                "saved_ms_per_hour": ms(self.per_hour(self.saved_ms)),
                "measured": "calls and mean execution times over the window",
                "estimated": ("the mean with the fix: measured mean x planner cost after/before"
                              if self.saved_ms is not None else None),
                "statements": [s.to_json() for s in self.statements]}


@dataclass(frozen=True, slots=True)
class Question:
    """Something a rule needs to know but SQL cannot show (where backups go, restore tests).

    Questions are listed in the report for a person to answer; they are never guessed and
    never count as findings.
    """

    rule: str
    category: Category
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "category": self.category.value, "question": self.text}


def priority(rec: Recommendation) -> tuple[int, float, float]:
    """One benefit measure across categories, larger first, as (tier, value, tie-break).

    A critical finding (an outage is near: wraparound, a full disk) comes first. Then the
    estimated database time a fix saves per window second; then the measured time of the
    statements a query finding is about (what is at stake, the saving unknown); then the
    posture findings by severity and the rule's own benefit, below any measured win.
    """
    gain = rec.gain
    if rec.severity is Severity.CRITICAL:
        return 3, float(rec.severity.rank), rec.benefit
    if gain is not None and gain.saved_ms and gain.window_seconds > 0:
        return 2, gain.saved_ms / gain.window_seconds, rec.benefit
    if gain is not None and gain.spent_ms and gain.window_seconds > 0 \
            and rec.severity.rank >= Severity.MEDIUM.rank:
        return 1, gain.spent_ms / gain.window_seconds, rec.benefit
    return 0, float(rec.severity.rank), rec.benefit


def ranked(recommendations: list[Recommendation]) -> list[Recommendation]:
    """Most valuable first by `priority`, then a stable order by rule and title."""
    return sorted(recommendations,
                  key=lambda r: (*(-v for v in priority(r)), r.rule, r.title))
