"""The worker's state for one assigned partition, and for one record in it."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keel.consumers.context import Fence
from keel.consumers.pipeline.arrivals import Arrivals
from keel.consumers.pipeline.decode import Poison, Unavailable
from keel.consumers.pipeline.lanes import Lanes
from keel.consumers.pipeline.metadata import InFlight, encode_metadata
from keel.consumers.pipeline.offsets import PartitionOffsets
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
        "begun",
        "decode_backoff",
        "due_ms",
        "ended",
        "expired",
        "expires_ms",
        "first_failure_ms",
        "inherited",
        "job",
        "job_type",
        "key",
        "last_failure_ms",
        "message",
        "offset",
        "part",
        "poison",
        "registration",
        "started",
        "suspect",
        "timer",
        "unavailable",
    )

    def __init__(self, message: Message, part: "PartitionState", offset: int) -> None:
        self.message = message
        self.part = part
        self.offset = offset  # the message's, read once: each read of it makes a new int
        self.key = message.key()
        self.attempt = 1
        self.begun = 0  # attempts begun, on this owner and the ones before it (see `inherit`)
        self.due_ms = 0  # wall-clock ms its retry is due, while it waits for one
        self.expires_ms = 0  # its `keel-expires-at`, read at decode; 0: it never expires
        self.expired = False  # set aside unstarted because it expired (see `expiry`)
        self.inherited: InFlight | None = None  # a previous owner's entry, until it first starts
        self.suspect = False  # its last attempt was cut short: it may be what killed its worker
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
        self.ended = 0.0  # perf_counter() when the last attempt settled: under way if < started

    def fence(self) -> Fence:
        """The fencing token of this record's runs (read by `Context.fence`, on demand)."""
        topic, partition = self.part.tp
        return Fence(self.part.generation, self.offset, topic, partition)


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
        "begun",
        "blocked",
        "busy",
        "careful_below",
        "closed",
        "draining",
        "generation",
        "guarded",
        "idle",
        "inherited",
        "lanes",
        "marked",
        "offsets",
        "on_quiet",
        "parked",
        "reserved",
        "solo",
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
        self.reserved = 0  # free handler slots its jobs leave to higher lanes (`priority`)
        self.waiting: set[RecordState] = set()  # waiting for a retry timer
        self.draining = False
        self.closed = False
        self.blocked: str | None = None  # why dead-letter writes fail, while they do
        self.idle = asyncio.Event()
        # When the received records were published, oldest first: the time lag (`arrivals`).
        self.arrivals = Arrivals()
        # Durable attempts (see `careful` and `metadata`): the unfinished records that have
        # begun an attempt, the previous owner's entries for records not received yet, whether
        # this owner's claim on the partition is committed yet, and the offsets it inherited
        # from an owner that did not hand over cleanly. `guarded`: a start must ask `careful`.
        self.begun: set[RecordState] = set()
        self.inherited: dict[int, InFlight] = {}
        self.marked = False
        self.careful_below: int | None = None
        self.guarded = False
        # Isolation of suspects (see `careful`): the starts held back, the suspect running
        # alone, and what to call once nothing of the partition is busy.
        self.parked: list[RecordState] = []
        self.solo: RecordState | None = None
        self.on_quiet: Callable[[PartitionState], None] | None = None

    def oldest_unfinished_ms(self) -> int | None:
        """The timestamp of the oldest record received and not finished; None if there is none."""
        self.arrivals.forget_below(self.offsets.committable())
        return self.arrivals.oldest_ms()

    def position(self) -> Position | None:
        """The watermark, what finished above it, and the attempts begun and not finished.

        Sealed (nothing will start here any more) once the partition is draining.
        """
        offset = self.offsets.committable()
        self.arrivals.forget_below(offset)
        if offset is None:
            return None
        metadata = encode_metadata(
            offset,
            self.offsets.finished_above(),
            self.in_flight(),
            sealed=self.draining,
            now_ms=int(time.time() * 1000),
        )
        return Position(offset, metadata)

    def in_flight(self) -> dict[int, InFlight]:
        """Per unfinished offset with a begun attempt: how many began, and its retry's due time."""
        found = dict(self.inherited)
        for record in self.begun:
            found[record.offset] = InFlight(record.begun, record.due_ms)
        return found

    def check_idle(self) -> None:
        if self.busy == 0:
            if self.draining:
                self.idle.set()
            elif self.parked and self.on_quiet is not None:
                self.on_quiet(self)


def note_failure(record: RecordState) -> None:
    """Remember when a job first and last failed, for the dead-letter headers."""
    now = int(time.time() * 1000)
    record.first_failure_ms = record.first_failure_ms or now
    record.last_failure_ms = now
