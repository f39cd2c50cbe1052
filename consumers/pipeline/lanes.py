"""Per-key lanes: one job per key at a time, in offset order; different keys side by side.

A lane exists only while its key has work. `offer` says whether an item may start at once (its
key was idle) or must queue behind the running one; `release` ends the head of a lane and hands
back the next item of that key, if any. A job that waits for its retry stays the head of its lane,
so it holds back later jobs of its own key and nothing else. `length` (the head and what queues
behind it) is the work the lane holds, which decides who gets the next free slot (see `ready`).

Records without a key have no order to keep: they never queue.
"""

from collections import deque
from collections.abc import Hashable, Iterator
from itertools import islice
from typing import Generic, TypeVar

T = TypeVar("T")


class Lanes(Generic[T]):
    """The queued items of one partition, by key."""

    __slots__ = ("_lanes",)

    def __init__(self) -> None:
        # key -> the lane's head (first), then the items queued behind it
        self._lanes: dict[Hashable, deque[T]] = {}

    def offer(self, key: Hashable | None, item: T) -> bool:
        """True when `item` may start now; otherwise it waits behind its key's head."""
        if key is None:
            return True
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = deque()
            lane.append(item)
            return True
        lane.append(item)
        return False

    def release(self, key: Hashable | None) -> T | None:
        """The head of `key`'s lane finished: the next item of that key to start, if any."""
        if key is None:
            return None
        lane = self._lanes.get(key)
        if lane is None:
            return None
        lane.popleft()
        if lane:
            return lane[0]
        del self._lanes[key]
        return None

    def head(self, key: Hashable | None) -> T | None:
        """The item at the head of `key`'s lane (running, or waiting to), if it has one."""
        lane = self._lanes.get(key) if key is not None else None
        return lane[0] if lane else None

    def length(self, key: Hashable | None) -> int:
        """How many items `key`'s lane holds, its head included (a keyless item counts 1)."""
        lane = self._lanes.get(key) if key is not None else None
        return len(lane) if lane else 1

    def drain(self) -> Iterator[T]:
        """Remove and yield every queued item (not the running heads); lanes are forgotten."""
        lanes, self._lanes = self._lanes, {}
        for lane in lanes.values():
            yield from islice(lane, 1, None)

    def active(self) -> int:
        """How many keys have a running or waiting head."""
        return len(self._lanes)

    def queued(self) -> int:
        """How many items wait behind a head."""
        return sum(len(lane) - 1 for lane in self._lanes.values())
