"""Rule documentation for `pgsage rules list/show` and the generated docs/rules.md."""

from __future__ import annotations

import dataclasses
import io
import json

from rich.console import Console
from rich.table import Table

from analyzer.errors import UsageError
from analyzer.render import Format
from rules import REGISTRY, Rule


def _options(rule: Rule) -> list[tuple[str, str, object]]:
    return [(f.name, f.type if isinstance(f.type, str) else f.type.__name__, f.default)
            for f in dataclasses.fields(rule.Options)]


def list_rules(fmt: Format) -> str:
    rules = [REGISTRY[c] for c in sorted(REGISTRY)]
    if fmt is Format.JSON:
        return json.dumps([{"code": r.code, "name": r.name, "category": r.category.value,
                            "severity": r.severity.value, "summary": r.summary(),
                            "options": r.default_options()} for r in rules], indent=2) + "\n"
    if fmt is Format.MARKDOWN:
        lines = ["| code | name | category | severity | summary |", "|---|---|---|---|---|"]
        lines += [f"| {r.code} | {r.name} | {r.category.value} | {r.severity.value} | "
                  f"{r.summary()} |" for r in rules]
        return "\n".join(lines) + "\n"
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("code", "category", "severity", "summary"):
        table.add_column(col)
    for r in rules:
        table.add_row(r.code, r.category.value, r.severity.value, r.summary())
    buf = io.StringIO()
    Console(file=buf, width=100, no_color=True, highlight=False).print(table)
    return buf.getvalue()


def show_rule(code: str) -> str:
    rule = REGISTRY.get(code.strip().upper())
    if rule is None:
        raise UsageError(f"no rule {code!r} (see `pgsage rules list`)")
    return rule_markdown(rule)


def rule_markdown(rule: Rule) -> str:
    sections = rule.doc_sections()
    lines = [f"# {rule.code} {rule.name}", "",
             f"Category: {rule.category.value}. Default severity: {rule.severity.value}.", "",
             sections.get("Summary", ""), ""]
    for heading, body in sections.items():
        if heading in ("Summary", "Options"):
            continue
        lines += [f"## {heading}", "", body, ""]
    lines += ["## Options", ""]
    if sections.get("Options"):
        lines += [sections["Options"], ""]
    opts = _options(rule)
    if opts:
        lines += [f"- `{name}` ({typ}, default `{default}`)" for name, typ, default in opts]
        lines += ["", f"Set them in the configuration file under `[rules.options.{rule.code}]`."]
    else:
        lines.append("None.")
    return "\n".join(lines).rstrip() + "\n"


def all_rules_markdown() -> str:
    """docs/rules.md: the list, then one section per rule."""
    parts = ["# pgsage rules", "", "Generated from the rules' docstrings by "
             "`python -m analyzer.rules_doc`; do not edit by hand.", "",
             list_rules(Format.MARKDOWN)]
    parts += [rule_markdown(REGISTRY[c]).replace("# ", "## ", 1) for c in sorted(REGISTRY)]
    return "\n".join(parts)


if __name__ == "__main__":
    print(all_rules_markdown(), end="")
