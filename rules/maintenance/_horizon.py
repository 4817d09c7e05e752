"""What holds back the xmin horizon and WAL removal: long transactions, inactive replication
slots, forgotten prepared transactions. Each keeps vacuum from removing dead rows in every
table, and slots also keep WAL on disk until it fills."""

from __future__ import annotations

from pgsage.analyzer.model.core import Model

HOLDING_BACKENDS = (None, "client backend", "parallel worker", "background worker")


def xmin_holders(model: Model) -> list[tuple[str, int]]:
    """Everything holding the xmin horizon, as (description, xid age), oldest first."""
    found: list[tuple[str, int]] = []
    for b in model.activity:
        if b.backend_xmin_age and b.backend_type in HOLDING_BACKENDS:
            found.append((f"backend {b.pid} ({b.usename}, {b.state})", b.backend_xmin_age))
    for s in model.replication_slots:
        age = max(s.xmin_age or 0, s.catalog_xmin_age or 0)
        if age:
            found.append((f"replication slot {s.slot_name}", age))
    for p in model.prepared_xacts:
        found.append((f"prepared transaction {p.gid!r}", p.xid_age))
    for r in model.replicas:
        if r.backend_xmin_age:
            found.append((f"standby {r.application_name} (hot_standby_feedback)",
                          r.backend_xmin_age))
    return sorted(found, key=lambda h: -h[1])
