"""After a freeze, nothing of a partition starts or settles until the worker knows it still owns it.

A worker frozen past its session (SIGSTOP, a long GC pause, a stalled VM) is thrown out of the
group while it does not run, and its partitions go to another member, which runs their jobs.
When the process runs again, librdkafka learns that only from the answer to its next heartbeat,
and the worker later still, when a poll serves the `lost` callback. In between, the engine would
settle the attempts that were running and start the next jobs of their keys beside the new
owner's runs of the same keys.

`FreezeWatch` sees the freeze from inside: a tick on the loop notes the monotonic time every
fraction of `limit`, and the engine compares the clock with the last tick wherever work can
enter the loop and lead to a start (each settle, each polled batch, each retry timer, each
acknowledged dead letter; one clock read per job), and so does a pool thread before a sync
handler that waited for it begins. A gap longer than `limit` means the loop did not run for
that long, so every partition owned then becomes *suspect* (a flag a start reads): nothing of it
starts, and its attempts that end are held (`FrozenHolds`), neither settled nor committed, until

- a commit succeeds after the gap: Kafka refuses a commit from a member that is no longer in
  the group's current generation (or, with the KIP-848 protocol, its current member epoch), so
  a commit that goes through proves the partitions are still ours; the held attempts settle
  and the held jobs start (`Engine.confirm`); or
- the partition is revoked (the rebalance protocol reached us in time: the partition was ours
  until now, so its held attempts settle before the drain); or
- the partition is lost: the held attempts are disowned (never settled, committed or
  dead-lettered, exactly as an attempt that ends after its partition was lost), and the
  attempts of async handlers still running are cancelled.

What no process can do from inside is stop the code that was already running when it froze:
those runs end late, beside the new owner's. `Context.fence` gives a handler the means to make
their writes harmless (docs/guarantees.md).
"""

import asyncio
import math
import time
from collections.abc import Callable, Iterable

from keel.consumers.pipeline.partition import PartitionState, RecordState

# The watch ticks this many times per `limit`, so that a busy loop that still runs is not
# mistaken for a frozen one unless it stalls for most of `limit`.
TICKS_PER_LIMIT = 4


class FreezeWatch:
    """Tells whether the loop went more than `limit` seconds without running (None: never)."""

    __slots__ = ("_clock", "_handle", "_on_gap", "limit", "seen")

    def __init__(
        self,
        limit: float | None,
        on_gap: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = math.inf if limit is None else limit
        self._on_gap = on_gap
        self._clock = clock
        self._handle: asyncio.TimerHandle | None = None
        self.seen = clock()  # the last moment the loop was seen running

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tick on `loop` until `stop`: an idle worker must not look frozen when work comes."""
        if math.isfinite(self.limit):
            self._tick(loop)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def froze(self) -> bool:
        """True, once per gap, when more than `limit` seconds passed since the loop last ran."""
        now = self._clock()
        gap = now - self.seen
        if gap <= self.limit:
            return False
        self.seen = now
        self._on_gap(gap)
        return True

    def frozen_now(self) -> bool:
        """Whether the loop has not run for longer than `limit`; reads only (any thread)."""
        return self._clock() - self.seen > self.limit

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.froze()
        self.seen = self._clock()
        self._handle = loop.call_later(self.limit / TICKS_PER_LIMIT, self._tick, loop)


class FrozenHolds:
    """The starts and settles held back while their partitions are suspect."""

    __slots__ = ("epoch", "settles", "starts")

    def __init__(self) -> None:
        self.epoch = 0  # one more per freeze seen: a confirmation counts for its own freeze only
        self.starts: list[RecordState] = []
        self.settles: list[tuple[RecordState, BaseException | None]] = []

    def take(
        self, parts: Iterable[PartitionState]
    ) -> tuple[list[RecordState], list[tuple[RecordState, BaseException | None]]]:
        """Remove and return what is held of `parts` (starts, then settles), oldest first."""
        wanted = {id(part) for part in parts}
        starts = [r for r in self.starts if id(r.part) in wanted]
        settles = [s for s in self.settles if id(s[0].part) in wanted]
        if starts:
            self.starts = [r for r in self.starts if id(r.part) not in wanted]
        if settles:
            self.settles = [s for s in self.settles if id(s[0].part) not in wanted]
        return starts, settles
