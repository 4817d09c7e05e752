"""Run the selected rules over a model; a rule that breaks is reported, never fatal.

Findings leave here with their time gain, grouped (one per problem) and ranked, so every
format and the sidecar show the same order.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from pgsage.analyzer.engine.config import RulesConfig
from pgsage.analyzer.engine.gains import with_gains
from pgsage.analyzer.engine.grouping import grouped
from pgsage.analyzer.engine.related import with_related
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Question, Recommendation, ranked
from pgsage.rules import build_options, select
from pgsage.rules.base import Rule

log = logging.getLogger(__name__)


def advise(model: Model, config: RulesConfig) -> tuple[list[Recommendation], list[str]]:
    """Ranked recommendations and notes about rules that could not run."""
    found: list[Recommendation] = []
    notes: list[str] = []
    selected = list(select(config.select, config.ignore))
    log.info("running %d rules", len(selected))
    for rule in selected:
        if failed_reads(model, rule):
            continue  # what it would take as absent is unknown: unknown_sources() says so
        options, _ = build_options(rule, config.options.get(rule.code, {}))
        try:
            found.extend(dataclasses.replace(r, default_severity=rule.severity)
                         for r in rule.check(model, options))
        except Exception as exc:  # a bug in one rule must not cost the whole report
            log.exception("rule %s failed", rule.code)
            notes.append(f"rule {rule.code} failed: {type(exc).__name__}: {exc}")
    naming = {rule.code for rule in selected if rule.names_related_findings}
    return ranked(grouped(with_gains(model, with_related(found, naming)))), notes


def failed_reads(model: Model, rule: Rule[Any]) -> list[str]:
    """The collectors the rule takes as the whole truth that failed in this snapshot."""
    status = model.snapshot.status
    return [name for name in rule.reads if name in status and not status[name].ok]


def unknown_sources(model: Model, config: RulesConfig) -> list[str]:
    """One note per failed source the selected rules needed: it is unknown, and the rules
    that would have read its missing rows as "none exists" did not run."""
    skipped: dict[str, list[str]] = {}
    for rule in select(config.select, config.ignore):
        for name in failed_reads(model, rule):
            skipped.setdefault(name, []).append(rule.code)
    return [f"{name} unknown ({model.skipped_reason(name)}): {', '.join(codes)} not run, as "
            "a source that could not be read says nothing about what exists"
            for name, codes in sorted(skipped.items())]


def ask(model: Model, config: RulesConfig,
        findings: list[Recommendation] | None = None) -> tuple[list[Question], list[str]]:
    """The selected rules' questions for a person (what SQL cannot show), in code order.

    Given the findings, only the questions of rules that found something: an answer can
    change those findings, while a rule that found nothing has nothing for it to change.
    """
    found = {r.rule for r in findings} if findings is not None else None
    asked: list[Question] = []
    notes: list[str] = []
    for rule in select(config.select, config.ignore):
        if found is not None and rule.code not in found:
            continue
        options, _ = build_options(rule, config.options.get(rule.code, {}))
        try:
            asked.extend(rule.question(text) for text in rule.questions(model, options))
        except Exception as exc:  # as in advise(): one broken rule costs only its questions
            log.exception("rule %s failed to ask", rule.code)
            notes.append(f"rule {rule.code} failed: {type(exc).__name__}: {exc}")
    return asked, notes
