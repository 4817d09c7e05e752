"""Schema design rules (SD): keys, column types, references, and what the workload needs."""

from pgsage.rules.schema import (  # noqa: F401  (imported for registration)
    float_money,
    id_without_foreign_key,
    int4_key,
    jsonb_without_index,
    no_primary_key,
    nullable_foreign_key,
    random_uuid_key,
    soft_delete_without_partial_index,
    timestamp_without_time_zone,
    wide_varchar,
)
