"""Every rule documents itself, and `pgsage rules list/show` and docs/rules.md show it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgsage.analyzer.app.cli import app
from pgsage.analyzer.model.findings import Category
from pgsage.analyzer.output.rules_doc import all_rules_markdown
from pgsage.rules import REGISTRY, Rule
from pgsage.rules.base import CODE_PATTERN, DOC_SECTIONS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"

PREFIX = {"IX": Category.INDEX, "QY": Category.QUERY, "PT": Category.PARTITIONING,
          "PL": Category.POOLING, "SC": Category.SCALING, "CF": Category.CONFIG,
          "MT": Category.MAINTENANCE, "SD": Category.SCHEMA, "BK": Category.BACKUP,
          "SE": Category.SECURITY, "MG": Category.MIGRATION}

RULES = [REGISTRY[c] for c in sorted(REGISTRY)]
ids = [r.code for r in RULES]


@pytest.mark.parametrize("rule", RULES, ids=ids)
def test_rule_has_every_doc_section(rule: Rule[Any]) -> None:
    sections = rule.doc_sections()
    missing = [s for s in DOC_SECTIONS if not sections.get(s)]
    assert not missing, f"{rule.code} lacks {missing}"


@pytest.mark.parametrize("rule", RULES, ids=ids)
def test_rule_has_a_summary_line(rule: Rule[Any]) -> None:
    assert rule.summary().endswith(".") and rule.summary() != rule.name


@pytest.mark.parametrize("rule", RULES, ids=ids)
def test_rule_code_is_valid_and_matches_its_category(rule: Rule[Any]) -> None:
    assert CODE_PATTERN.match(rule.code)
    assert PREFIX[rule.code[:2]] is rule.category


@pytest.mark.parametrize("rule", RULES, ids=ids)
def test_rule_name_is_dotted_under_its_category(rule: Rule[Any]) -> None:
    assert rule.name.startswith(rule.category.value + ".")


@pytest.mark.parametrize("rule", RULES, ids=ids)
def test_rule_lives_in_the_module_named_by_its_dotted_name(rule: Rule[Any]) -> None:
    assert type(rule).__module__ == "pgsage.rules." + rule.name
    assert (DOCS.parent.parent / rule.source()).is_file()


def test_rules_show_prints_the_source_path() -> None:
    result = CliRunner().invoke(app, ["rules", "show", "QY003"])
    assert result.exit_code == 0
    assert "rules/query/n_plus_one.py" in result.output


def test_rule_names_are_unique() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", RULES, ids=ids)
def test_rule_options_are_a_frozen_dataclass_with_defaults(rule: Rule[Any]) -> None:
    assert dataclasses.is_dataclass(rule.Options)
    assert rule.Options.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert all(f.default is not dataclasses.MISSING for f in dataclasses.fields(rule.Options))
    rule.Options()  # constructible from defaults alone


@pytest.mark.parametrize("rule", RULES, ids=ids)
def test_rule_options_are_nested_in_the_rule(rule: Rule[Any]) -> None:
    assert "Options" in type(rule).__dict__, f"{rule.code} declares no Options (NoOptions?)"


@pytest.mark.parametrize("rule", RULES, ids=ids)
def test_every_option_has_help_text(rule: Rule[Any]) -> None:
    undocumented = [f.name for f in dataclasses.fields(rule.Options)
                    if not str(f.metadata.get("help", "")).strip()]
    assert not undocumented, f"{rule.code}: options without metadata help: {undocumented}"


OPTION_ENTRY = re.compile(r"^\s*([a-z_][a-z0-9_]*(?:\s*/\s*[a-z_][a-z0-9_]*)*)\s*:(?:\s|$)")


@pytest.mark.parametrize("rule", RULES, ids=ids)
def test_docstring_documents_no_option_the_dataclass_lacks(rule: Rule[Any]) -> None:
    fields = {f.name for f in dataclasses.fields(rule.Options)}
    entries = {name for line in rule.doc_sections().get("Options", "").splitlines()
               if (m := OPTION_ENTRY.match(line)) for name in re.split(r"\s*/\s*", m[1])}
    assert entries <= fields, f"{rule.code} documents unknown options {entries - fields}"


def test_rules_show_renders_each_option_with_its_help() -> None:
    result = runner.invoke(app, ["rules", "show", "SC003"])
    assert result.exit_code == 0
    [line] = [ln for ln in result.stdout.splitlines() if ln.startswith("- `min_window_seconds`")]
    assert line.endswith(": shortest window a growth rate is measured over.")
    assert "- `horizon_days` (float, default" in result.stdout


runner = CliRunner()


def test_rules_list_lists_every_code() -> None:
    result = runner.invoke(app, ["rules", "list"])
    assert result.exit_code == 0
    assert all(code in result.stdout for code in REGISTRY)


def test_rules_show_prints_the_doc() -> None:
    result = runner.invoke(app, ["rules", "show", "IX006"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# IX006 index.foreign_key_unindexed\n")
    assert "## What it detects" in result.stdout and "`min_rows` (int, default `1000`)" \
        in result.stdout


def test_rules_show_accepts_lower_case() -> None:
    assert runner.invoke(app, ["rules", "show", "ix006"]).exit_code == 0


def test_rules_show_unknown_code_exits_2_with_one_line() -> None:
    result = runner.invoke(app, ["rules", "show", "NOPE"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "NOPE" in result.stderr


def test_docs_rules_md_is_generated_from_the_docstrings() -> None:
    assert DOCS.read_text() == all_rules_markdown(), (
        "docs/rules.md is stale: python -m pgsage.analyzer.output.rules_doc > docs/rules.md")


def test_docs_nest_rule_sections_below_rule_titles() -> None:
    lines = all_rules_markdown().splitlines()
    titles = [line for line in lines if line.startswith("## ")]
    assert sorted(t.split()[1] for t in titles) == sorted(REGISTRY)
    assert "### What it detects" in lines
