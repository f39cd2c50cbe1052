"""Which waiting job gets the next free handler slot: the one whose key has the most work left.

A job waits here when its key may run (it is the head of its lane) but every slot is busy. At
every job end, the freed slot goes to the waiting job whose key has the most work queued behind
it (the job itself included): longest-remaining-first. The finishing key's own next job waits
here too and competes like any other; it gets no slot of its own.

Why: a key's jobs run one after another, so a key with 39 jobs needs 39 handler times however
many slots are free, while a key with 12 is done in 12. Handing a freed slot to the same key's
next job (as a plain queue does) lets keys that got a slot early keep it for their whole chain,
and the keys with the most work, if they started late, finish long after the rest: the run's
tail. Serving the longest chain first is the classic rule for finishing chains of equal-length
jobs on parallel slots as early as possible; the engine only knows what its buffer holds of each
key, so the buffered count stands in for the work left.

Anti-starvation: a waiting job is overtaken at most `max_overtakes` times. Once the job that
has waited longest has seen `max_overtakes` others start since it began to wait, it starts next
whatever its work, and so does every job behind it in arrival order that is overdue too. So a job
that begins to wait while `n` jobs wait already starts within `max_overtakes + n` starts, even
while heavy keys keep receiving records. With `max_overtakes = 0` this is a plain queue in
arrival order.

The structure: a heap of (-work, ticket) entries with lazy invalidation (an item whose work grew
gets a new entry; stale ones are skipped when they surface), and a queue in arrival order for the
age bound. Each operation costs O(log n) in the number of waiting jobs.
"""

import heapq
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)
# Stale entries tolerated before a compaction, beyond a few per waiting item.
_SLACK = 64


class ReadyQueue(Generic[T]):
    """Jobs that may start once a slot frees, most work first, none passed over forever."""

    __slots__ = ("_ages", "_heap", "_picks", "_tickets", "_waiting", "max_overtakes", "waiting")

    def __init__(self, max_overtakes: int) -> None:
        if max_overtakes < 0:
            raise ValueError("max_overtakes must be >= 0")
        self.max_overtakes = max_overtakes
        self._picks = 0  # how many items have been taken so far
        self._tickets = 0
        # item -> [work, ticket of its live heap entry, picks when it began to wait]
        self._waiting: dict[T, list[int]] = {}
        # The same dict, for reading only: truthy while anything waits. The engine asks that
        # once per job, and a dict answers it without a Python-level call.
        self.waiting: Mapping[T, object] = self._waiting
        self._heap: list[tuple[int, int, T]] = []  # (-work, ticket, item); stale entries remain
        self._ages: deque[tuple[int, T]] = deque()  # (picks when it began to wait, item)

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, item: object) -> bool:
        return item in self._waiting

    def __iter__(self) -> Iterator[T]:
        """The waiting items, in no particular order."""
        return iter(list(self._waiting))

    def push(self, item: T, work: int) -> None:
        """`item` waits for a slot; its key has `work` jobs buffered (itself included)."""
        ticket = self._tickets = self._tickets + 1
        self._waiting[item] = [work, ticket, self._picks]
        heapq.heappush(self._heap, (-work, ticket, item))
        self._ages.append((self._picks, item))
        if len(self._heap) > _SLACK + 4 * len(self._waiting):
            self._compact()

    def grow(self, item: T, more: int = 1) -> None:
        """`more` jobs arrived behind `item` while it waits (nothing happens if it does not)."""
        entry = self._waiting.get(item)
        if entry is None:
            return
        entry[0] += more
        ticket = entry[1] = self._tickets = self._tickets + 1
        heapq.heappush(self._heap, (-entry[0], ticket, item))

    def pop(self) -> T:
        """The item to start now: the longest-waiting one if it is overdue, else the most work.

        Raises IndexError when nothing waits.
        """
        if not self._waiting:
            raise IndexError("pop from an empty ReadyQueue")
        oldest = self._oldest()
        if self._picks - self._waiting[oldest][2] >= self.max_overtakes:
            item = oldest
        else:
            item = self._heaviest()
        del self._waiting[item]
        self._picks += 1
        return item

    def pop_within(self, free: int) -> T | None:
        """`pop` when a slot is `free` (one lane: no slot is reserved), else None."""
        return self.pop() if free > 0 and self._waiting else None

    def remove_where(self, predicate: Callable[[T], bool]) -> list[T]:
        """Take out every waiting item for which `predicate` holds; they will not start."""
        removed = [item for item in self._waiting if predicate(item)]
        for item in removed:
            del self._waiting[item]
        if removed:
            self._compact()
        return removed

    def _oldest(self) -> T:
        ages, waiting = self._ages, self._waiting
        while True:
            since, item = ages[0]
            entry = waiting.get(item)
            if entry is not None and entry[2] == since:
                return item
            ages.popleft()  # started, removed, or waiting again since a later time

    def _heaviest(self) -> T:
        heap, waiting = self._heap, self._waiting
        while True:
            _, ticket, item = heap[0]
            entry = waiting.get(item)
            if entry is not None and entry[1] == ticket:
                return item
            heapq.heappop(heap)  # stale: the item started, or its work grew since

    def _compact(self) -> None:
        """Drop stale entries: they are skipped when they surface, but may sit deep for long."""
        waiting = self._waiting
        self._heap = [e for e in self._heap if _live(waiting.get(e[2]), 1, e[1])]
        heapq.heapify(self._heap)
        self._ages = deque(a for a in self._ages if _live(waiting.get(a[1]), 2, a[0]))


def _live(entry: list[int] | None, field: int, value: int) -> bool:
    return entry is not None and entry[field] == value
