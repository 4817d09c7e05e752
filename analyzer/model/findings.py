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
    """Expected value used to rank findings of the same severity (larger first)."""

    def to_json(self) -> dict[str, Any]:
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


def ranked(recommendations: list[Recommendation]) -> list[Recommendation]:
    """Most valuable first: severity, then expected benefit, then a stable order by rule."""
    return sorted(recommendations,
                  key=lambda r: (-r.severity.rank, -r.benefit, r.rule, r.title))
