"""Run the selected rules over a model; a rule that breaks is reported, never fatal."""

from __future__ import annotations

import logging

from pgsage.analyzer.engine.config import RulesConfig
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Question, Recommendation, ranked
from pgsage.rules import build_options, select

log = logging.getLogger(__name__)


def advise(model: Model, config: RulesConfig) -> tuple[list[Recommendation], list[str]]:
    """Ranked recommendations and notes about rules that could not run."""
    found: list[Recommendation] = []
    notes: list[str] = []
    for rule in select(config.select, config.ignore):
        options, _ = build_options(rule, config.options.get(rule.code, {}))
        try:
            found.extend(rule.check(model, options))
        except Exception as exc:  # a bug in one rule must not cost the whole report
            log.exception("rule %s failed", rule.code)
            notes.append(f"rule {rule.code} failed: {type(exc).__name__}: {exc}")
    return ranked(found), notes


def ask(model: Model, config: RulesConfig) -> tuple[list[Question], list[str]]:
    """The selected rules' questions for a person (what SQL cannot show), in code order."""
    asked: list[Question] = []
    notes: list[str] = []
    for rule in select(config.select, config.ignore):
        options, _ = build_options(rule, config.options.get(rule.code, {}))
        try:
            asked.extend(rule.question(text) for text in rule.questions(model, options))
        except Exception as exc:  # as in advise(): one broken rule costs only its questions
            log.exception("rule %s failed to ask", rule.code)
            notes.append(f"rule {rule.code} failed: {type(exc).__name__}: {exc}")
    return asked, notes
