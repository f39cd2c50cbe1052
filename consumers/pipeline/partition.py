"""The worker's state for one assigned partition, and for one record in it."""

import asyncio
import time
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from keel.consumers.context import Fence
from keel.consumers.pipeline.decode import Poison, Unavailable
from keel.consumers.pipeline.lanes import Lanes
from keel.consumers.pipeline.offsets import PartitionOffsets, encode_finished
from keel.consumers.pipeline.records import Message, TopicPartition
from keel.consumers.registrations import Registration


@dataclass(frozen=True, slots=True)
class Position:
    """What to commit for a partition: the watermark and the finished-above metadata."""

    offset: int
    metadata: str


class RecordState:
    """One record on its way through the pipeline, across all its attempts."""

    __slots__ = (
        "attempt",
        "decode_backoff",
        "first_failure_ms",
        "job",
        "job_type",
        "key",
        "last_failure_ms",
        "message",
        "part",
        "poison",
        "registration",
        "started",
        "timer",
        "unavailable",
    )

    def __init__(self, message: Message, part: "PartitionState") -> None:
        self.message = message
        self.part = part
        self.key = message.key()
        self.attempt = 1
        self.job: Any = None
        self.job_type = ""  # the job type's full name, once decoded
        self.registration: Registration | None = None
        self.poison: Poison | None = None
        self.unavailable: Unavailable | None = None  # the registry could not say what it is yet
        self.first_failure_ms = 0
        self.last_failure_ms = 0
        self.timer: asyncio.TimerHandle | None = None
        self.decode_backoff = 0.5
        self.started = 0.0  # perf_counter() when the current attempt started

    def fence(self) -> Fence:
        """The fencing token of this record's runs (read by `Context.fence`, on demand)."""
        topic, partition = self.part.tp
        offset: int = self.message.offset()  # type: ignore[assignment]  # set when consumed
        return Fence(self.part.generation, offset, topic, partition)


class PartitionState:
    """Offsets, lanes and in-progress counts of one partition while this worker owns it.

    `busy` counts attempts running and dead-letter writes not yet acknowledged. While
    `draining`, nothing new starts; once `closed`, finishes no longer count (the partition has a
    new owner, which will run those records again). While `suspect` (the worker was frozen and
    may have lost the partition unknowingly; see `ownership`), nothing starts or settles.
    `generation` is the group generation the partition was assigned in (the fence's first part).
    """

    __slots__ = (
        "arrivals",
        "blocked",
        "busy",
        "closed",
        "draining",
        "generation",
        "idle",
        "lanes",
        "offsets",
        "suspect",
        "tp",
        "waiting",
    )

    def __init__(self, tp: TopicPartition, offsets: PartitionOffsets, generation: int = 0) -> None:
        self.tp = tp
        self.offsets = offsets
        self.generation = generation
        self.suspect = False
        self.lanes: Lanes[RecordState] = Lanes()
        self.busy = 0
        self.waiting: set[RecordState] = set()  # waiting for a retry timer
        self.draining = False
        self.closed = False
        self.blocked: str | None = None  # why dead-letter writes fail, while they do
        self.idle = asyncio.Event()
        # Received records, oldest first; those below the watermark are dropped whenever the
        # position is read, so this holds little more than the unfinished records: the first
        # one left is the oldest unfinished (its age = time lag). Per record this costs one
        # list append; reading an offset or timestamp waits until a commit or a scrape, which
        # drop the finished ones in one cut found by bisection.
        self.arrivals: list[Message] = []

    def oldest_unfinished_ms(self) -> int | None:
        """The timestamp of the oldest record received and not finished; None if there is none."""
        self._forget_finished()
        return self.arrivals[0].timestamp()[1] if self.arrivals else None

    def position(self) -> Position | None:
        self._forget_finished()
        offset = self.offsets.committable()
        if offset is None:
            return None
        return Position(offset, encode_finished(offset, self.offsets.finished_above()))

    def _forget_finished(self) -> None:
        watermark = self.offsets.committable()
        arrivals = self.arrivals
        if watermark is None:
            arrivals.clear()
        elif arrivals and _offset(arrivals[0]) < watermark:
            del arrivals[: bisect_left(arrivals, watermark, key=_offset)]

    def check_idle(self) -> None:
        if self.draining and self.busy == 0:
            self.idle.set()


def _offset(message: Message) -> int:
    offset: int = message.offset()  # type: ignore[assignment]  # set on every consumed record
    return offset


def note_failure(record: RecordState) -> None:
    """Remember when a job first and last failed, for the dead-letter headers."""
    now = int(time.time() * 1000)
    record.first_failure_ms = record.first_failure_ms or now
    record.last_failure_ms = now
