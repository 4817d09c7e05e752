"""What a column's type or name says about a table: time columns that range reads and
retention filter on, tenant keys that split the data (the partitioning and scaling rules)."""

TIME_TYPES = ("timestamp with time zone", "timestamp without time zone", "date")

TENANT_PATTERN = (r"^(tenant|account|org|organization|organisation|customer|client|company|"
                  r"workspace|team|shop|store|project|merchant)_?id$")
"""Column names of a tenant key (a regular expression, case-insensitive)."""
