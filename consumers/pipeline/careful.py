"""Starts that wait until Kafka holds "attempt k of offset X has begun".

Normally the attempts a worker begins reach Kafka with its periodic commits only (see
`metadata`): nothing on the path of a job waits for a write. That leaves one hole: a handler that
kills its process (a segfault, the OOM killer, `os._exit`) before the next commit leaves no trace
of its attempt, so the next owner would run it as attempt 1 again, and again, forever.

Two rules close it, each costing a synchronous commit only when it matters:

- *Claim*: before its first start on a partition, an owner commits the partition's position
  with metadata that is not sealed. From then on, whatever it does, its successor knows that it
  may have died in the middle of something.
- *Suspects run alone*: a record whose last attempt was cut short starts only when nothing
  else of its partition runs, and nothing else of the partition starts until it ends. A death
  kills every job in the process; without this, jobs that happened to run beside the one that
  kills it would use up their attempts too. It costs concurrency only after a crash, and only
  on the partitions whose jobs were cut short, until those jobs have run; a suspect that runs
  long holds its partition that long (a time limit on the job type bounds it). A job given up
  at a clean handover (its drain deadline passed) is no suspect.
- *Careful mode*: an owner that finds unsealed metadata (its predecessor did not hand over
  cleanly) records each start of an inherited record (an offset below the partition's end at
  assignment) in a synchronous commit before running it. A death in that run is then counted,
  and after `max_attempts` of them the record is dead-lettered (`crash-loop`, see `inherit`).
  Starts that come while a commit is under way share the next one, so a careful partition still
  starts up to `max_in_flight` jobs per commit round trip. Once the partition's watermark passes
  the end it was assigned at, the partition runs normally.

The bound: every run is counted except the one during which an owner in normal mode dies
before its next periodic commit: at most `max_attempts + 1` runs of a job in all (see
docs/guarantees.md).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from keel.consumers.pipeline.partition import PartitionState, Position, RecordState
from keel.consumers.pipeline.records import TopicPartition

_LOG = logging.getLogger(__name__)

CommitNow = Callable[[Mapping[TopicPartition, Position]], Awaitable[None]]
Launch = Callable[[RecordState], None]
# How long a failed claim or careful commit waits before it is tried again.
RETRY_DELAY = 0.5


class CarefulStarts:
    """Holds the starts of guarded partitions until a commit records them, then launches them."""

    def __init__(self, commit: CommitNow, launch: Launch, abandon: Launch) -> None:
        self._commit = commit
        self._launch = launch
        self._abandon = abandon
        self._held: list[RecordState] = []  # waiting for the next commit
        self._committing: set[RecordState] = set()  # in the commit under way
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def guard(part: PartitionState, careful_below: int | None) -> None:
        """A newly assigned partition: claimed before its first start, careful below the bound."""
        part.careful_below = careful_below
        part.guarded = True
        if careful_below is not None:
            _LOG.warning(
                "%s/%s was not handed over cleanly: starts below offset %s are recorded first",
                *part.tp,
                careful_below,
            )

    def start(self, record: RecordState) -> None:
        """`record` holds its slot and counts its attempt as begun: run it once that is durable."""
        part = record.part
        if part.marked and not _careful(part, record):
            self._launch(record)
            return
        self._held.append(record)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush(), name="keel-careful")

    @staticmethod
    def must_wait(record: RecordState) -> bool:
        """Whether `record` must wait before it starts, to keep a suspect alone (True: parked).

        A suspect (its last attempt was cut short) starts only when nothing else of its
        partition is busy, and nothing else starts while it runs: if the worker dies again, the
        death is charged to it alone, not to the jobs that happened to run beside it.
        """
        part = record.part
        if part.solo is not None or (part.parked and not record.suspect):
            part.parked.append(record)
            return True
        if record.suspect:
            if part.busy:
                part.parked.append(record)
                return True
            part.solo = record
        return False

    @staticmethod
    def unpark(part: PartitionState) -> list[RecordState]:
        """Nothing of the partition is busy: the parked starts, to be offered again in order."""
        part.solo = None
        parked, part.parked = part.parked, []
        return parked

    def drop(self, part: PartitionState) -> list[RecordState]:
        """The partition drains: its held starts will not run (the caller gives them up)."""
        dropped = [r for r in self._held if r.part is part]
        dropped += [r for r in self._committing if r.part is part]
        self._held = [r for r in self._held if r.part is not part]
        self._committing.difference_update(dropped)
        return dropped

    async def _flush(self) -> None:
        try:
            while self._held:
                batch, self._held = self._held, []
                self._committing.update(batch)
                if not await self._record(batch):
                    self._held = [r for r in batch if r in self._committing] + self._held
                    self._committing.clear()
                    await asyncio.sleep(RETRY_DELAY)
                    continue
                ready = [r for r in batch if r in self._committing]
                self._committing.clear()
                for record in ready:
                    self._launch(record)
        finally:
            self._task = None

    async def _record(self, batch: list[RecordState]) -> bool:
        parts = {record.part for record in batch}
        positions = {p.tp: pos for p in parts if (pos := p.position()) is not None}
        try:
            await self._commit(positions)
        except Exception as error:  # retried: the jobs wait, nothing runs unrecorded
            _LOG.warning("cannot record the start of %d jobs, retrying: %s", len(batch), error)
            return False
        for part in parts:
            part.marked = True
            _settle_guard(part)
        return True


def _careful(part: PartitionState, record: RecordState) -> bool:
    below = part.careful_below
    if below is None:
        return False
    _settle_guard(part)
    return record.offset < below


def _settle_guard(part: PartitionState) -> None:
    """Stop guarding once the partition is claimed, its watermark passed the careful range and
    no suspect runs or waits."""
    below = part.careful_below
    watermark = part.offsets.committable()
    if below is not None and watermark is not None and watermark >= below:
        part.careful_below = below = None
    if part.marked and below is None and not part.parked and part.solo is None:
        part.guarded = False
