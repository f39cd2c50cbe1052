"""The worker's half of job status: each transition of a tracked job, written by job id.

An observer (`pipeline.observer`): `running` once an attempt has run through a whole window,
`retrying` with the next attempt's time when one fails and will be tried again, `done` (with the
result, when the type declares one) when it succeeds, `dead_lettered` with the reason once its
dead letter is acknowledged, `expired` when it expired before it started and was dropped (an
expired job that is dead-lettered is `dead_lettered`, reason `expired`), `parked` with the job it
waits behind once its park behind a quarantined key is acknowledged (a replay or release that
runs it later writes `running` and on, over it).

Off the hot path: nothing is done as an attempt starts. At its end, a plain `done` (no result,
no error) is five values appended to its status partition's list, its number and start read off
the engine's record of the attempt; any other transition replaces the job's pending status in a
dict. Every `KEEL_STATUS_LINGER_MS` the window goes to a producer of the recorder's own, batched
(`status.window`): one record per status partition holds that window's statuses of the
partition's jobs (a job that ran and finished within the window is only its `done`, a row of an
id and its times). At the same tick the recorder asks the engine which attempts are under way and
writes `running` for those that started in the window before: a job gets `running` once it has
run for a window, and a quick job goes from `queued` to `done`. Nothing waits for the batches,
and an untracked job costs a set lookup. A status that cannot be queued (librdkafka's queue
full) or delivered is counted and logged, and the job goes on: a status may trail, or miss, a
transition (docs/status.md).
"""

import logging
import os
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from confluent_kafka import KafkaError, Message, Producer
from pydantic import BaseModel, ValidationError

from keel.consumers.context import Context
from keel.consumers.pipeline.observer import PROCESSED, Attempt, NoObserver
from keel.consumers.pipeline.quarantine import PARKED
from keel.consumers.pipeline.records import Message as Record
from keel.consumers.status.results import RESULT_BOX
from keel.consumers.status.values import Transition, batch_value, status_entry
from keel.consumers.status.window import STRIDE, Batch, Ended, Pending, batches, done_id
from keel.schemas.errors import EncodeError
from keel.schemas.job import Job
from keel.schemas.status.record import BATCH_PREFIX, partition_of

_LOG = logging.getLogger(__name__)
ResultEncoder = Callable[[Job], bytes]
Later = Callable[[float, Callable[[], None]], object]
UnderWay = Callable[[], Iterable[Attempt]]
_crc32 = zlib.crc32  # `partition_of`'s rule, on the id's bytes
# The engine's clock: an attempt's `started` is read on it.
_perf_counter = time.perf_counter


@dataclass(frozen=True, slots=True)
class Tracked:
    """The job types a worker records, and the result encoder of those that declare one."""

    names: frozenset[str]
    results: Mapping[str, tuple[type[Job], ResultEncoder]] = field(default_factory=dict)


class StatusRecorder(NoObserver):
    """Writes the transitions of tracked jobs to the status topic; `close()` flushes them."""

    def __init__(
        self,
        producer: Callable[[dict[str, object]], Producer],
        topic: str,
        partitions: int,
        tracked: Tracked,
        *,
        later: Later,
        linger_s: float,
    ) -> None:
        """`producer(extra)` builds the recorder's producer with `extra` keys.

        `later(seconds, callback)` calls back on the loop (`loop.call_later`): the window's end.
        """
        self._producer = producer({})
        self._later = later
        self._linger_s = linger_s
        self._pending: Pending = {}  # job id -> its latest transition but a plain `done`
        # The plain `done`s of the window, by status partition, in order, flat.
        self._ended: list[Ended] = [[] for _ in range(partitions)]
        self._topic = topic
        self._partitions = partitions
        self._tracked = tracked
        self._names = tracked.names
        # Only a type with a result needs each attempt in a context of its own (its box).
        self.scoped = bool(tracked.results)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        # Each batch's key: this recorder's own prefix (a restarted container has the same
        # host name and pid, and a repeated key would let compaction delete the older batch)
        # and a sequence number.
        self._key_prefix = BATCH_PREFIX + f"{self.worker}:{uuid.uuid4().hex[:12]}:".encode()
        self._batches = 0
        self._unreported = 0  # statuses in batches whose delivery report has not come
        self._boxes: dict[int, list[object]] = {}  # id(message) -> where its result goes
        self._under_way: UnderWay = tuple
        # The last two sends, on the engine's clock: an attempt that started between them and
        # is still under way at the next one has run for a whole window.
        self._sends = (float("-inf"), _perf_counter())
        self._ticking = False
        self.dropped = 0  # statuses not queued or not delivered

    def watch(self, under_way: UnderWay) -> None:
        """Send a window every `linger_s` from now on; `under_way()` lists the running attempts."""
        self._under_way = under_way
        self._ticking = True
        self._later(self._linger_s, self._tick)

    def attempt_scope(self, record: Record, context: Context) -> None:
        if context.job_type in self._tracked.results:
            box: list[object] = []
            self._boxes[id(record)] = box
            RESULT_BOX.set(box)

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Attempt | None = None,
        error: BaseException | None = None,
    ) -> None:
        if job_type not in self._names or record is None:
            return
        box = self._boxes.pop(id(record.message), None) if self.scoped else None
        if outcome != PROCESSED:
            return  # a failure is written as it is decided: retry_scheduled, letter_written
        if box is None:
            # `seconds` is the engine's measure of the handler from its start: start + seconds
            # is the end, without a clock read here.
            raw = done_id(record.message)
            ended = self._ended[_crc32(raw) % self._partitions]
            ended.extend((job_type, raw, record.attempt, record.started, seconds))
            return
        started_ms = int((record.started + _epoch_offset()) * 1000)
        now = started_ms + int(seconds * 1000)
        job_id = _job_id(record.message)
        done = Transition(job_id, "done", job_type, record.attempt, now, started_ms, now)
        done.result, done.error = self._result(job_type, job_id, box, error)
        self._write(done)

    def retry_scheduled(
        self, record: Record, job_type: str, attempt: int, delay: float, error: BaseException
    ) -> None:
        if job_type not in self._names:
            return
        now = _now_ms()
        next_ms = now + int(delay * 1000)
        retrying = Transition(
            _job_id(record), "retrying", job_type, attempt, now, 0, 0, next_ms, _described(error)
        )
        self._write(retrying)

    def letter_written(self, record: Record, job_type: str | None, reason: str) -> None:
        if job_type not in self._names:
            return
        dead = Transition(_job_id(record), "dead_lettered", job_type, 0, _now_ms(), reason=reason)
        self._write(dead)

    def job_expired(self, record: Record, job_type: str, action: str) -> None:
        if job_type not in self._names or action != "drop":
            return  # one dead-lettered is written when its letter is
        expired = Transition(_job_id(record), "expired", job_type, 0, _now_ms(), reason="expired")
        self._write(expired)

    def job_parked(self, record: Record, job_type: str | None, blocked_by: str) -> None:
        if job_type not in self._names:
            return
        parked = Transition(
            _job_id(record), "parked", job_type, 0, _now_ms(), reason=PARKED, blocked_by=blocked_by
        )
        self._write(parked)

    def send(self) -> None:
        """Hand every pending status to the producer, a batch per partition: a window's end."""
        offset = _epoch_offset()
        self._announce(offset)
        ended, self._ended = self._ended, [[] for _ in range(self._partitions)]
        pending, self._pending = self._pending, {}
        for partition, batch in batches(ended, pending, self._partitions):
            self._produce(partition, batch, offset)
        self._producer.poll(0)  # serve the delivery reports that are in

    def _tick(self) -> None:
        if self._ticking:
            self.send()
            self._later(self._linger_s, self._tick)

    def _produce(self, partition: int, batch: Batch, offset: float) -> None:
        self._batches += 1
        key = self._key_prefix + str(self._batches).encode()
        done = [rows.json() for rows in batch.done]
        statuses = batch.statuses
        try:
            self._producer.produce(
                self._topic,
                batch_value(self.worker, batch.entries, done, offset * 1000),
                key,
                partition=partition,
                on_delivery=partial(self.on_delivery, statuses),
            )
        except BufferError:
            self.dropped += statuses
        else:
            self._unreported += statuses

    def close(self, timeout: float) -> None:
        """Send what is pending and batched, waiting at most `timeout` seconds."""
        self._ticking = False
        self.send()
        self._producer.flush(max(timeout, 0))
        if self._unreported:
            self.dropped += self._unreported
            _LOG.warning("%d job statuses not sent before the worker stopped", self._unreported)
            self._unreported = 0

    def on_delivery(self, statuses: int, error: KafkaError | None, message: Message) -> None:
        """A batch's delivery report: the statuses of one that did not arrive are counted."""
        self._unreported -= statuses
        if error is not None:
            self.dropped += statuses
            _LOG.warning("%d job statuses not written: %s", statuses, error.str())

    def _result(
        self, job_type: str, job_id: str, box: list[object], error: BaseException | None
    ) -> tuple[bytes | None, str | None]:
        declared = self._tracked.results.get(job_type)
        if declared is None or error is not None or not box:
            return None, None
        model, encoder = declared
        value = box[-1]
        try:
            checked = value if isinstance(value, model) else model.model_validate(_plain(value))
            return encoder(checked), None
        except (ValidationError, EncodeError, TypeError) as problem:
            _LOG.warning("result of job %s is not a %s: %s", job_id, model.__name__, problem)
            return None, f"result invalid: {problem}"

    def _announce(self, offset: float) -> None:
        """Write `running` for the attempts under way that started in the window before this."""
        since, until = self._sends
        self._sends = (until, _perf_counter())
        names = self._names
        for attempt in self._under_way():
            started = attempt.started
            if since < started <= until and attempt.job_type in names:
                job_id = _job_id(attempt.message)
                started_ms = int((started + offset) * 1000)
                running = Transition(
                    job_id, "running", attempt.job_type, attempt.attempt, started_ms, started_ms
                )
                self._pending[job_id] = (self._place(job_id), status_entry(running))

    def _write(self, transition: Transition) -> None:
        job_id = transition.job_id
        self._pending[job_id] = (self._place(job_id), status_entry(transition))

    def _place(self, job_id: str) -> int:
        """Where a job's entry falls among its partition's plain `done`s: the later of two wins."""
        return len(self._ended[partition_of(job_id, self._partitions)]) // STRIDE


def _job_id(record: Record) -> str:
    return done_id(record).decode("utf-8", "replace")


def _plain(value: object) -> object:
    return value.model_dump() if isinstance(value, BaseModel) else value


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _epoch_offset() -> float:
    """What turns a reading of the engine's clock into epoch seconds, now."""
    return time.time() - _perf_counter()
