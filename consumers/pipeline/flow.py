"""Flow control: which partitions must stop fetching, and when they may fetch again.

The poll loop never waits for handlers; instead the worker bounds the records it has accepted
and not yet finished, partition by partition. The buffer (`high` records) is split evenly over
the assigned partitions: a partition whose backlog reaches its *share* is paused alone, and
resumed once its backlog is down to the same fraction of the share that `low` is of `high`.
The gap between the marks keeps a busy partition from flapping.

Why per partition: librdkafka hands over what it fetched partition by partition. With one mark
for the whole buffer, the first partition of a fetch fills it, and that partition's few keys
cannot keep the handler slots busy while the records of every other key wait in the broker.
With a share each, the buffer holds a slice of every partition, so of nearly every key.

The total stays bounded: at most `high` plus what one poll batch per partition can carry past a
share before the pause takes effect. The decisions are pure: `admit` and `settle` say whether
the set of paused partitions changed; `paused` is that set, an immutable value replaced whole,
so the consumer's thread may read it while the loop moves on.
"""

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class FlowControl(Generic[K]):
    """Counts accepted, unfinished records per partition against the partition's share."""

    __slots__ = ("_counts", "_resume_at", "_share", "buffered", "high", "low", "paused")

    def __init__(self, high: int, low: int) -> None:
        if not 0 <= low < high:
            raise ValueError("need 0 <= low < high")
        self.high = high
        self.low = low
        self.buffered = 0  # accepted, unfinished records of every partition
        self.paused: frozenset[K] = frozenset()
        self._counts: dict[K, int] = {}
        self._share = high
        self._resume_at = low

    @property
    def share(self) -> int:
        """How many unfinished records one partition may hold before it pauses."""
        return self._share

    def assign(self, key: K) -> bool:
        """`key` is a new partition (nothing of it buffered); the shares are split anew."""
        self._counts.setdefault(key, 0)
        return self._reshare()

    def remove(self, key: K) -> bool:
        """`key` is no longer ours; what of it is still buffered counts only in the total."""
        self._counts.pop(key, None)
        return self._reshare()

    def admit(self, key: K, count: int = 1) -> bool:
        """`count` records of `key` were accepted."""
        self.buffered += count
        held = self._counts.get(key)
        if held is None:
            return False
        held = self._counts[key] = held + count
        if held >= self._share and key not in self.paused:
            self.paused = self.paused | {key}
            return True
        return False

    def settle(self, key: K | None, count: int = 1) -> bool:
        """`count` records of `key` finished (or were given up).

        None: records of a partition given up since they were admitted. They count only in the
        total, even if the partition has been assigned again meanwhile (its new count starts
        from what the new assignment admits).
        """
        self.buffered -= count
        if key is None:
            return False
        held = self._counts.get(key)
        if held is None:
            return False
        held = self._counts[key] = held - count
        if held <= self._resume_at and key in self.paused:
            self.paused = self.paused - {key}
            return True
        return False

    def _reshare(self) -> bool:
        partitions = max(1, len(self._counts))
        self._share = max(1, self.high // partitions)
        self._resume_at = self._share * self.low // self.high
        paused = frozenset(
            key
            for key, held in self._counts.items()
            if held >= self._share or (key in self.paused and held > self._resume_at)
        )
        changed = paused != self.paused
        self.paused = paused
        return changed
