"""Query rules (QY): statements worth fixing, anti-patterns, and what their plans show."""

from pgsage.rules.query import antipatterns, plans, statements  # noqa: F401  (imported for registration)
