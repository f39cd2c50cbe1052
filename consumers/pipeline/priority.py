"""Priority lanes on the worker: higher lanes fetch and start first.

A job topic `T` may have lane topics `T.high` and `T.low` (`keel.schemas.lanes`); a worker that
consumes several lanes ranks each partition by its topic's lane. Two places decide in rank order:

- Fetching (`LanedFlow`, over the per-partition `FlowControl`): in the `strict` mode, while a
  higher lane has enough records buffered (accepted, unfinished) to keep every handler slot
  busy, every partition of a lower lane is paused, so a burst of high work is not diluted by
  more low records. The `weighted` mode pauses
  nothing beyond flow control: every lane keeps fetching, and the slots are shared instead.
- Starting (`LanedReady`, over one `ReadyQueue` per lane): a freed handler slot goes to the
  highest lane that has a job waiting (`strict`), or to the lanes in turn by their weights among
  those with a job waiting (`weighted`: smooth weighted round robin, so with weights 8:3:1 and
  every lane waiting, 8 of every 12 starts are high ones, spread out, not in bursts).

- Reserving (`LanePolicy.reserve`): a few handler slots only the highest lane the worker
  consumes may take. Without them, a worker whose every slot runs lower-lane jobs starts a high
  job only when a slot frees, and a backlog keeps the slots in step: they are filled together
  and free together, one handler duration later, so a high job waited half a handler duration
  on average and a whole one at worst (measured: the larger part of its pickup, see
  docs/benchmarks.md#priority-lanes). A reserved slot is idle while no high job waits.

Within a lane nothing changes: one job per key in offset order, longest-remaining-first with
its bound on overtakes. Across lanes no order is promised, even for one key. `strict` may starve
a lower lane for as long as a higher one has work; that is what it is for.
"""

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Generic, Literal, TypeVar

from keel.consumers.pipeline.flow import FlowControl
from keel.consumers.pipeline.ready import ReadyQueue
from keel.schemas.lanes import LANES
from keel.schemas.lanes import rank as lane_rank

topic_rank = cache(lane_rank)  # a worker consumes a few topics; each one's lane is read once


def partition_rank(tp: tuple[str, int]) -> int:
    """The rank of the lane of a (topic, partition): 0 for `high`, 1 `default`, 2 `low`."""
    return topic_rank(tp[0])


K = TypeVar("K", bound=Hashable)
T = TypeVar("T", bound=Hashable)
Mode = Literal["strict", "weighted"]


@dataclass(frozen=True, slots=True)
class LanePolicy:
    """How the lanes share the worker: `strict` or `weighted` by rank (highest lane first)."""

    mode: Mode = "strict"
    weights: tuple[int, ...] = (8, 3, 1)
    # `strict` pauses the lower lanes once a higher one holds this many records: as many as
    # the handler slots, so that the higher lane alone can keep every slot busy. Fewer start at
    # once anyway (the ready queue ranks them first), and pausing for each lone high job would
    # pause and resume every lower partition per job: measured, that churn delayed the fetch of
    # the next high job by seconds now and then (docs/benchmarks.md#priority-lanes).
    hold_at: int = 1
    # Handler slots that only the lane of rank `top` (the highest the worker consumes) may take.
    reserve: int = 0
    top: int = 0

    def __post_init__(self) -> None:
        if len(self.weights) != len(LANES) or min(self.weights) < 1:
            raise ValueError(f"need one weight >= 1 for each lane of {LANES}")
        if self.hold_at < 1:
            raise ValueError("hold_at must be >= 1")
        if self.reserve < 0:
            raise ValueError("reserve must be >= 0")

    def reserved(self, rank: int) -> int:
        """How many free slots a job of lane `rank` must leave to higher lanes."""
        return self.reserve if rank > self.top else 0


class WeightedTurns:
    """Smooth weighted round robin over the lanes that have something waiting."""

    __slots__ = ("_credit", "_weights")

    def __init__(self, weights: Sequence[int]) -> None:
        self._weights = tuple(weights)
        self._credit = [0] * len(self._weights)

    def pick(self, waiting: Sequence[bool]) -> int:
        """The rank whose turn it is among those `waiting`; raises IndexError if none waits."""
        best, total = -1, 0
        for rank, weight in enumerate(self._weights):
            if not waiting[rank]:
                continue
            self._credit[rank] += weight
            total += weight
            if best < 0 or self._credit[rank] > self._credit[best]:
                best = rank
        if best < 0:
            raise IndexError("no lane has anything waiting")
        self._credit[best] -= total
        return best


class LanedReady(Generic[T]):
    """A `ReadyQueue` per lane; `pop` serves them by the policy. The engine's ready queue."""

    __slots__ = ("_lane", "_lane_of", "_queues", "_reserved", "_turns", "waiting")

    def __init__(self, max_overtakes: int, lane_of: Callable[[T], int], policy: LanePolicy) -> None:
        self._queues = [ReadyQueue[T](max_overtakes) for _ in LANES]
        self._lane_of = lane_of
        self._reserved = [policy.reserved(rank) for rank in range(len(LANES))]
        self._turns = WeightedTurns(policy.weights) if policy.mode == "weighted" else None
        self._lane: dict[T, int] = {}  # waiting item -> its lane's rank
        self.waiting: Mapping[T, object] = self._lane  # truthy while anything waits

    def __len__(self) -> int:
        return len(self._lane)

    def __contains__(self, item: object) -> bool:
        return item in self._lane

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._lane))

    def waiting_in(self, rank: int) -> int:
        """How many jobs of the lane `rank` wait for a slot."""
        return len(self._queues[rank])

    def push(self, item: T, work: int) -> None:
        rank = self._lane[item] = self._lane_of(item)
        self._queues[rank].push(item, work)

    def grow(self, item: T, more: int = 1) -> None:
        rank = self._lane.get(item)
        if rank is not None:
            self._queues[rank].grow(item, more)

    def pop(self) -> T:
        """The next item to start: from the highest lane waiting, or the lane whose turn it is."""
        item = self.pop_within(None)
        if item is None:
            raise IndexError("pop from an empty LanedReady")
        return item

    def pop_within(self, free: int | None) -> T | None:
        """`pop`, but with `free` handler slots only from a lane that may take one of them (see
        `LanePolicy.reserve`): None when nothing waits or no lane waiting may."""
        queues, reserved = self._queues, self._reserved
        may = [bool(q) and (free is None or free > reserved[r]) for r, q in enumerate(queues)]
        if self._turns is None:  # strict: the highest lane waiting, or nothing
            rank = next((r for r, queue in enumerate(queues) if queue), -1)
            if rank < 0 or not may[rank]:
                return None
        elif any(may):
            rank = self._turns.pick(may)
        else:
            return None
        item = queues[rank].pop()
        del self._lane[item]
        return item

    def remove_where(self, predicate: Callable[[T], bool]) -> list[T]:
        removed = [item for queue in self._queues for item in queue.remove_where(predicate)]
        for item in removed:
            del self._lane[item]
        return removed


class LanedFlow(Generic[K]):
    """`FlowControl`, and in `strict` mode every lower lane paused while a higher one holds work.

    Same surface as `FlowControl`: `admit`, `settle`, `assign` and `remove` say whether `paused`
    changed; `paused` is an immutable set replaced whole (read by the consumer's thread).
    """

    __slots__ = (
        "_base",
        "_held",
        "_hold_at",
        "_lane_of",
        "_rank",
        "_strict",
        "_top",
        "buffered_in",
        "paused",
    )

    def __init__(
        self, high: int, low: int, lane_of: Callable[[K], int], policy: LanePolicy
    ) -> None:
        self._base: FlowControl[K] = FlowControl(high, low)
        self._lane_of = lane_of
        self._strict = policy.mode == "strict"
        self._hold_at = policy.hold_at
        self._held: dict[K, int] = {}  # assigned partition -> its unfinished records
        self._rank: dict[K, int] = {}  # assigned partition -> its lane's rank
        self.buffered_in = [0] * len(LANES)  # unfinished records of assigned partitions, by lane
        self._top = len(LANES)  # the highest rank holding `hold_at` records (len: none)
        self.paused: frozenset[K] = frozenset()

    @property
    def buffered(self) -> int:
        return self._base.buffered

    @property
    def share(self) -> int:
        return self._base.share

    def assign(self, key: K) -> bool:
        self._held.setdefault(key, 0)
        self._rank.setdefault(key, self._lane_of(key))
        return self._update(self._base.assign(key), force=True)

    def remove(self, key: K) -> bool:
        held = self._held.pop(key, 0)
        rank = self._rank.pop(key, None)
        if rank is not None:
            self.buffered_in[rank] -= held
        return self._update(self._base.remove(key), force=True)

    def admit(self, key: K, count: int = 1) -> bool:
        self._count(key, count)
        return self._update(self._base.admit(key, count))

    def settle(self, key: K | None, count: int = 1) -> bool:
        if key is not None:
            self._count(key, -count)
        return self._update(self._base.settle(key, count))

    def _count(self, key: K, count: int) -> None:
        held = self._held.get(key)
        if held is not None:
            self._held[key] = held + count
            self.buffered_in[self._rank[key]] += count

    def _update(self, changed: bool, force: bool = False) -> bool:
        """Lay the lanes' pauses over flow control's; True when `paused` changed."""
        hold_at = self._hold_at
        top = next((r for r, n in enumerate(self.buffered_in) if n >= hold_at), len(LANES))
        if not changed and not force and top == self._top:
            return False
        self._top = top
        paused = self._base.paused
        if self._strict:
            paused = paused | {k for k, rank in self._rank.items() if rank > top}
        if paused == self.paused:
            return False
        self.paused = paused
        return True
