"""Per-key lanes: one job per key at a time, in offset order; different keys side by side.

A lane exists only while its key has work. `offer` says whether an item may start at once (its
key was idle) or must queue behind the running one; `release` ends the head of a lane and hands
back the next item of that key, if any. A job that waits for its retry stays the head of its lane,
so it holds back later jobs of its own key and nothing else.

Records without a key have no order to keep: they never queue.
"""

from collections import deque
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Lanes(Generic[T]):
    """The queued items of one partition, by key."""

    __slots__ = ("_lanes",)

    def __init__(self) -> None:
        # key -> items queued behind the running head (the head itself is not stored)
        self._lanes: dict[Hashable, deque[T]] = {}

    def offer(self, key: Hashable | None, item: T) -> bool:
        """True when `item` may start now; otherwise it waits behind its key's head."""
        if key is None:
            return True
        waiting = self._lanes.get(key)
        if waiting is None:
            self._lanes[key] = deque()
            return True
        waiting.append(item)
        return False

    def release(self, key: Hashable | None) -> T | None:
        """The head of `key`'s lane finished: the next item of that key to start, if any."""
        if key is None:
            return None
        waiting = self._lanes.get(key)
        if waiting is None:
            return None
        if waiting:
            return waiting.popleft()
        del self._lanes[key]
        return None

    def drain(self) -> Iterator[T]:
        """Remove and yield every queued item (not the running heads); lanes are forgotten."""
        lanes, self._lanes = self._lanes, {}
        for waiting in lanes.values():
            yield from waiting

    def active(self) -> int:
        """How many keys have a running or waiting head."""
        return len(self._lanes)

    def queued(self) -> int:
        """How many items wait behind a head."""
        return sum(len(waiting) for waiting in self._lanes.values())
