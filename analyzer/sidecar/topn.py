"""Stable top-N membership, so per-object series do not churn from one cycle to the next.

An object (statement, table, index) *enters* when it ranks in the top N and *stays* until
it falls out of the top 2N or disappears. A ranking that shuffles around position N
therefore does not create and drop series every cycle, and at most 2N objects are exported.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Membership(Generic[K]):
    def __init__(self, n: int) -> None:
        self.n = n
        self.members: set[K] = set()

    def update(self, ranking: Sequence[K]) -> set[K]:
        """The members after a new ranking (best first)."""
        rank = {key: i for i, key in enumerate(ranking)}
        keep = {key for key in self.members if rank.get(key, len(ranking)) < 2 * self.n}
        keep.update(ranking[: self.n])
        self.members = keep
        return keep
