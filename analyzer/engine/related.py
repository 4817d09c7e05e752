"""Naming, in a statement finding, the other findings about the same statement.

A rule runs alone and cannot know what the others found, so a rule that only measures a
statement (QY001's "this statement takes 38% of the time") would either promise other
findings that may not exist or say nothing. The engine, which holds every finding, names
them when there are some and adds nothing when there are none.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection

from pgsage.analyzer.model.findings import Recommendation


def _queryids(finding: Recommendation) -> list[str]:
    return [str(q) for q in finding.impact.get("queryids") or ()]


def with_related(found: list[Recommendation], naming: Collection[str]) -> list[Recommendation]:
    """Findings of the rules in `naming` with a sentence naming the other rules' findings
    about their statements; all others unchanged."""
    about: dict[str, set[str]] = defaultdict(set)
    for finding in found:
        for queryid in _queryids(finding):
            about[queryid].add(finding.rule)
    out = []
    for finding in found:
        if finding.rule in naming:
            codes = sorted({code for q in _queryids(finding) for code in about[q]}
                           - {finding.rule})
            if codes:
                queryids = ", ".join(_queryids(finding))
                head, sep, tail = finding.detail.partition("\n")
                sentence = (f" Other findings for queryid {queryids} say what to change: "
                            f"{', '.join(codes)}.")
                finding = dataclasses.replace(finding, detail=head + sentence + sep + tail)
        out.append(finding)
    return out
