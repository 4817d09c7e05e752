"""High availability: whether a standby is connected, and how far behind it is."""

from __future__ import annotations

from pgsage.analyzer.model.core import Model
from pgsage.collectors.replication import Replica
from pgsage.rules.backup._archiving import STREAMING_ARCHIVERS

NOT_STANDBYS = (*STREAMING_ARCHIVERS, "pg_basebackup")


def standbys(model: Model) -> list[Replica]:
    return [r for r in model.replicas
            if not (r.application_name or "").lower().startswith(NOT_STANDBYS)]
