"""One finding per problem: the same rule and cause on several objects become one finding
that lists its objects (the JSON keeps each member whole)."""

from __future__ import annotations

import dataclasses
import re
from functools import reduce

from pgsage.analyzer.model.findings import Action, Recommendation

_NUMBER = re.compile(r"-?\d[\d,.]*")
"""A measurement in a title; a queryid is one too, and half of them are negative."""


def _names(rec: Recommendation) -> list[str]:
    """The object's names, longest first, so `public.orders` goes before `orders`. Columns
    stay: the same change on other columns is another cause."""
    obj = rec.object
    names = [n for n in (obj.index, obj.table, obj.schema) if n]
    if obj.schema and obj.table:
        names.append(f"{obj.schema}.{obj.table}")
    return sorted(set(names), key=len, reverse=True)


def shape(rec: Recommendation) -> tuple[str, str, str, tuple[str, ...]]:
    """The grouping key: rule, severity, the title with the object's names and the numbers
    taken out (the numbers are the object's measurements, not the cause), and the columns."""
    title = rec.title
    for name in _names(rec):
        title = re.sub(rf"(?<![\w$]){re.escape(name)}(?![\w$])", "\u2026", title)
    return rec.rule, rec.severity.value, _NUMBER.sub("#", title), rec.object.columns or ()


def _merged_action(members: list[Recommendation]) -> Action | None:
    actions = [m.action for m in members if m.action is not None]
    if not actions:
        return None

    def joined(parts: list[str | None]) -> str | None:
        present = list(dict.fromkeys(p for p in parts if p))
        return "\n".join(present) if present else None

    return Action(sql=joined([a.sql for a in actions]),
                  undo_sql=joined([a.undo_sql for a in actions]),
                  shell=joined([a.shell for a in actions]))


def _merged(members: list[Recommendation]) -> Recommendation:
    first = members[0]
    gains = [m.gain for m in members if m.gain is not None]
    queryids = list(dict.fromkeys(str(q) for m in members for q in m.impact.get("queryids", [])))
    impact = {**first.impact, "queryids": queryids} if queryids else dict(first.impact)
    return dataclasses.replace(
        first,
        title=f"{first.title} (and {len(members) - 1} more like it)",
        action=_merged_action(members),
        impact=impact,
        gain=reduce(lambda a, b: a + b, gains) if gains else None,
        benefit=sum(m.benefit for m in members),
        members=tuple(members),
    )


def grouped(recommendations: list[Recommendation]) -> list[Recommendation]:
    """Findings of the same shape merged into the first of them, in first-seen order."""
    groups: dict[tuple[str, str, str, tuple[str, ...]], list[Recommendation]] = {}
    for rec in recommendations:
        groups.setdefault(shape(rec), []).append(rec)
    return [members[0] if len(members) == 1 else _merged(members)
            for members in groups.values()]
