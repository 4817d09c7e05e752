"""Planner and execution settings: costs for SSD storage, JIT on a short-query workload."""

from __future__ import annotations

from pgsage.analyzer.model.core import Model


def storage_kind(model: Model) -> tuple[bool, str]:
    """(applies, phrase): SSD advice applies unless the user said the storage is hdd."""
    if model.host.storage == "ssd":
        return True, "the host's storage is SSD"
    if model.host.storage is None:
        return True, ("SSD storage is assumed (give --storage hdd or [host] storage = "
                      "\"hdd\" if the data is on spinning disks)")
    return False, "the host's storage is spinning disks"
