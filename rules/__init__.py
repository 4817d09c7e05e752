"""Rules: pure functions of the model, one class per rule, grouped by category.

Importing this package registers every rule.
"""

from pgsage.rules import (  # noqa: F401  (imported for registration)
    backup,
    config,
    index,
    maintenance,
    partitioning,
    pooling,
    query,
    scaling,
    schema,
    security,
)
from pgsage.rules.base import REGISTRY, Rule, build_options, matches, select, unknown_selectors

__all__ = ["REGISTRY", "Rule", "build_options", "matches", "select", "unknown_selectors"]
