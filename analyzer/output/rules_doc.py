"""Rule documentation for `pgsage rules list/show` and the generated docs/rules.md."""

from __future__ import annotations

import dataclasses
import io
import json
import textwrap
from typing import Any

from rich.console import Console
from rich.table import Table

from pgsage.analyzer.errors import UsageError
from pgsage.analyzer.output.render import Format
from pgsage.rules import REGISTRY, Rule
from pgsage.rules.base import DOC_SECTIONS


def _options(rule: Rule[Any]) -> list[tuple[str, str, object, str]]:
    """Name, type, default and help text of each option, from the Options dataclass."""
    return [(f.name, f.type if isinstance(f.type, str) else f.type.__name__, f.default,
             str(f.metadata.get("help", "")))
            for f in dataclasses.fields(rule.Options)]


def list_rules(fmt: Format) -> str:
    rules = [REGISTRY[c] for c in sorted(REGISTRY)]
    if fmt is Format.JSON:
        return json.dumps([{"code": r.code, "name": r.name, "category": r.category.value,
                            "severity": r.severity.value, "summary": r.summary(),
                            "options": r.default_options()} for r in rules], indent=2) + "\n"
    if fmt is Format.MARKDOWN:
        lines = ["| code | name | category | default severity | summary |",
                 "|---|---|---|---|---|"]
        lines += [f"| {r.code} | {r.name} | {r.category.value} | {r.severity.value} | "
                  f"{r.summary()} |" for r in rules]
        return "\n".join(lines) + "\n"
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("code", "category", "default severity", "summary"):
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


def _body(text: str) -> str:
    """A docstring section as Markdown: its first line was stripped, the rest still indented."""
    first, _, rest = text.partition("\n")
    return "\n".join(part for part in (first, textwrap.dedent(rest)) if part).strip()


def rule_markdown(rule: Rule[Any], level: int = 1) -> str:
    """One rule's page; `level` is the heading level of its title (sections go one below)."""
    title, section = "#" * level, "#" * (level + 1)
    sections = {k: _body(v) for k, v in rule.doc_sections().items()}
    lines = [f"{title} {rule.code} {rule.name}", "",
             f"Category: {rule.category.value}. Default severity: {rule.severity.value}. "
             f"Source: `{rule.source()}`.", "",
             sections.get("Summary", ""), ""]
    for heading in (*DOC_SECTIONS, "References"):
        if not sections.get(heading):
            continue
        body = sections[heading]
        if heading == "Example":
            body = f"```sql\n{body}\n```"
        lines += [f"{section} {heading}", "", body, ""]
    lines += [f"{section} Options", ""]
    opts = _options(rule)
    if opts:
        if sections.get("Options"):
            lines += [sections["Options"], ""]
        lines += [f"- `{name}` ({typ}, default `{default}`): {help_}"
                  for name, typ, default, help_ in opts]
        lines += ["", f"Set them in the configuration file under `[rules.options.{rule.code}]`."]
    else:
        lines.append("None.")
    return "\n".join(lines).rstrip() + "\n"


def all_rules_markdown() -> str:
    """docs/rules.md: the list, then one section per rule (rule titles one level down)."""
    parts = ["# pgsage rules", "", "Generated from the rules' docstrings by "
             "`python -m pgsage.analyzer.output.rules_doc`; do not edit by hand.", "",
             list_rules(Format.MARKDOWN)]
    parts += [rule_markdown(REGISTRY[c], level=2) for c in sorted(REGISTRY)]
    return "\n".join(parts)


if __name__ == "__main__":
    print(all_rules_markdown(), end="")
