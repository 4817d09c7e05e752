"""What pgsage cannot read from SQL about the machine: RAM, CPUs, storage.

Memory and I/O advice depends on the host. Users give it with `--memory 16GB --cpus 4
--storage ssd` or a `[host]` table in the configuration file; what is not given is assumed,
and every finding built on an assumption says so (and is never more severe than `low`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pgsage.analyzer.units import format_bytes

ASSUMED_MEMORY = 4 * 1024**3
"""A small production host: advice for a bigger one is only more generous."""
ASSUMED_CPUS = 2
STORAGE_KINDS = ("ssd", "hdd")


@dataclass(frozen=True, slots=True)
class HostSpec:
    memory_bytes: int | None = None
    cpus: int | None = None
    storage: str | None = None
    """`ssd` (also NVMe and cloud block storage) or `hdd` (spinning disks)."""

    @property
    def memory(self) -> int:
        return self.memory_bytes if self.memory_bytes is not None else ASSUMED_MEMORY

    @property
    def memory_assumed(self) -> bool:
        return self.memory_bytes is None

    @property
    def cpu_count(self) -> int:
        return self.cpus if self.cpus is not None else ASSUMED_CPUS

    def memory_phrase(self) -> str:
        """`16.0 GB RAM (given)` or `4.0 GB RAM (assumed: pass --memory)` for finding texts."""
        if self.memory_assumed:
            return (f"{format_bytes(self.memory)} RAM (assumed: give the real size with "
                    f"--memory or [host] memory)")
        return f"{format_bytes(self.memory)} RAM"

    def cpu_phrase(self) -> str:
        if self.cpus is None:
            return f"{self.cpu_count} CPUs (assumed: give --cpus or [host] cpus)"
        return f"{self.cpu_count} CPUs"
