"""Query rules (QY): statements worth fixing, anti-patterns, and what their plans show."""

from pgsage.rules.query import (  # noqa: F401  (imported for registration)
    count_star,
    estimate_mismatch,
    jit,
    large_offset,
    leading_wildcard,
    n_plus_one,
    non_sargable,
    not_in_subquery,
    or_across_columns,
    order_by_random,
    plan_changed,
    plan_nested_loop,
    plan_seq_scan,
    plan_sort_limit,
    planning_time,
    regression,
    select_star,
    temp_spill,
    top_statements,
)
