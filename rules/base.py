"""The rule mechanism every rule family uses: codes, options, docs, registry, selection.

A rule is a class with a stable code (two letters for the category, three digits), a dotted
name, a category, a default severity and a nested frozen dataclass `Options` whose fields
carry their defaults and, in `metadata["help"]`, their documentation (`NoOptions` when the
rule has none). `Rule` is generic over that class, so mypy checks what `check` reads. The
docstring is the rest of the documentation, in the sections `pgsage rules show` prints and a
test enforces: What it detects / Why it matters / Example / What to do (Options, free text
beside the fields' help, and References optional).
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Question, Recommendation, Severity

DOC_SECTIONS = ("What it detects", "Why it matters", "Example", "What to do")
OPTIONAL_SECTIONS = ("Options", "References")
CODE_PATTERN = re.compile(r"^(IX|QY|PT|PL|SC|CF|MT|SD|BK|SE|MG)\d{3}$")


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """For rules without thresholds."""


OptionsT = TypeVar("OptionsT")
"""A rule's options dataclass."""


class Rule(Generic[OptionsT]):
    code: ClassVar[str]
    name: ClassVar[str]
    category: ClassVar[Category]
    severity: ClassVar[Severity]
    Options: ClassVar[type[Any]] = NoOptions
    reads: ClassVar[tuple[str, ...]] = ()
    """Collectors whose rows this rule takes as the whole truth (no row: none exists, as
    "no primary key" reads the constraints). When one of them failed the rule does not
    run and the report names the source as unknown: a failure is never an absence."""
    names_related_findings: ClassVar[bool] = False
    """Whether the engine adds to this rule's findings the other findings about the same
    statements (a rule cannot see them: it runs alone)."""

    def check(self, model: Model, options: OptionsT) -> Iterable[Recommendation]:
        raise NotImplementedError

    def questions(self, model: Model, options: OptionsT) -> Iterable[str]:
        """What this rule would need to know but SQL cannot show; listed in the report."""
        return ()

    def question(self, text: str) -> Question:
        return Question(rule=self.code, category=self.category, text=text)

    def finding(self, **fields: Any) -> Recommendation:
        """A Recommendation carrying this rule's code, category and default severity."""
        fields.setdefault("severity", self.severity)
        return Recommendation(rule=self.code, category=self.category, **fields)

    @classmethod
    def source(cls) -> str:
        """The rule's module as a path in the repository: `rules/query/n_plus_one.py`."""
        return cls.__module__.removeprefix("pgsage.").replace(".", "/") + ".py"

    @classmethod
    def doc(cls) -> str:
        return textwrap.dedent(cls.__doc__ or "").strip()

    @classmethod
    def summary(cls) -> str:
        return cls.doc().splitlines()[0] if cls.doc() else cls.name

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """Sections of the docstring keyed by heading (a heading is `Name:` on its own line)."""
        sections: dict[str, list[str]] = {}
        current = "Summary"
        for line in cls.doc().splitlines():
            heading = line.strip().rstrip(":")
            if line.strip().endswith(":") and heading in (*DOC_SECTIONS, *OPTIONAL_SECTIONS):
                current = heading
                sections[current] = []
            else:
                sections.setdefault(current, []).append(line)
        return {k: "\n".join(v).strip() for k, v in sections.items()}

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        return {f.name: f.default for f in dataclasses.fields(cls.Options)}


REGISTRY: dict[str, Rule[Any]] = {}

R = TypeVar("R", bound=type[Rule[Any]])


def register(cls: R) -> R:
    if not CODE_PATTERN.match(cls.code):
        raise ValueError(f"bad rule code {cls.code!r}")
    if cls.code in REGISTRY:
        raise ValueError(f"duplicate rule code {cls.code}")
    REGISTRY[cls.code] = cls()
    return cls


def build_options(rule: Rule[Any], given: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """Options for a rule from configuration, with every problem listed (not just the first)."""
    errors: list[str] = []
    fields = {f.name: f for f in dataclasses.fields(rule.Options)}
    values: dict[str, Any] = {}
    for key, value in given.items():
        field = fields.get(key)
        if field is None:
            errors.append(f"rules.options.{rule.code}.{key}: unknown option "
                          f"(known: {', '.join(fields) or 'none'})")
            continue
        expected = type(field.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            errors.append(f"rules.options.{rule.code}.{key}: expected {expected.__name__}, "
                          f"got {value!r}")
            continue
        values[key] = value
    return rule.Options(**values), errors


def matches(rule: Rule[Any], selector: str) -> bool:
    """A selector is a code (IX001), a code prefix (IX), a category or a dotted name prefix."""
    s = selector.strip()
    return (rule.code.upper().startswith(s.upper()) or rule.category.value == s.lower()
            or rule.name == s or rule.name.startswith(s + "."))


def select(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> Iterator[Rule[Any]]:
    """Registered rules chosen by `select` (all when empty) minus `ignore`, in code order."""
    chosen, dropped = list(select), list(ignore)
    for code in sorted(REGISTRY):
        rule = REGISTRY[code]
        if chosen and not any(matches(rule, s) for s in chosen):
            continue
        if any(matches(rule, s) for s in dropped):
            continue
        yield rule


def unknown_selectors(selectors: Iterable[str]) -> list[str]:
    return [s for s in selectors if not any(matches(r, s) for r in REGISTRY.values())]
