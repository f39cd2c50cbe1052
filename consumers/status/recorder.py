"""The worker's half of job status: each transition of a tracked job, written by job id.

An observer (`pipeline.observer`): `running` when an attempt starts, `retrying` with the next
attempt's time when one fails and will be tried again, `done` (with the result, when the type
declares one) when it succeeds, `dead_lettered` with the reason once its dead letter is
acknowledged, `expired` when it expired before it started and was dropped (an expired job that
is dead-lettered is `dead_lettered`, reason `expired`), `parked` with the job it waits behind
once its park behind a quarantined key is acknowledged (a replay or release that runs it later
writes `running` and on, over it).

Off the hot path: a transition only replaces the job's pending status in a dict; every
`KEEL_STATUS_LINGER_MS` the pending statuses go to a producer of the recorder's own, batched: one
record per status partition holds that window's statuses of the partition's jobs (a job that ran and
finished within the window is only its `done`: the cost of status is about one small JSON object per
job). Nothing waits for them, and an untracked job costs a set lookup. A status that cannot be
queued (librdkafka's queue full) or delivered is counted and logged, and the job goes on: a status
may trail, or miss, a transition (docs/status.md).
"""

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from confluent_kafka import KafkaError, Message, Producer
from pydantic import BaseModel, ValidationError

from keel.consumers.context import Context
from keel.consumers.pipeline.observer import PROCESSED, NoObserver
from keel.consumers.pipeline.quarantine import PARKED
from keel.consumers.pipeline.records import Message as Record
from keel.consumers.status.results import RESULT_BOX
from keel.consumers.status.values import Transition, batch_value, done_entry, status_entry
from keel.schemas.errors import EncodeError
from keel.schemas.headers import JOB_ID
from keel.schemas.job import Job
from keel.schemas.status.record import BATCH_PREFIX, partition_of

_LOG = logging.getLogger(__name__)
ResultEncoder = Callable[[Job], bytes]
Later = Callable[[float, Callable[[], None]], object]
_Open = tuple[Record, str, int, int]  # an attempt under way: its record, type, number, start (ms)
# A batch is cut at this many statuses or characters, far below the broker's 1 MB per record.
BATCH_STATUSES = 1_000
BATCH_CHARS = 256 * 1024


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
        self._pending: dict[str, str] = {}  # job id -> its latest transition, as JSON
        self._topic = topic
        self._partitions = partitions
        self._tracked = tracked
        # Only a type with a result needs each attempt in a context of its own (its box).
        self.scoped = bool(tracked.results)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        # Each batch's key: this recorder's own prefix (a restarted container has the same
        # host name and pid, and a repeated key would let compaction delete the older batch)
        # and a sequence number.
        self._key_prefix = BATCH_PREFIX + f"{self.worker}:{uuid.uuid4().hex[:12]}:".encode()
        self._batches = 0
        self._unreported = 0  # statuses in batches whose delivery report has not come
        self._open: dict[int, _Open] = {}  # id(record) -> its attempt under way
        self._announced: set[int] = set()  # the attempts under way whose `running` was written
        self._boxes: dict[int, list[object]] = {}  # id(record) -> where its result goes
        self._window = False  # whether the end of a window is due
        self.dropped = 0  # statuses not queued or not delivered

    def attempt_started(self, record: Record, context: Context) -> None:
        job_type = context.job_type
        if job_type not in self._tracked.names:
            return
        # Only noted: its `running` is written at the window's end if it is still running then.
        self._open[id(record)] = (record, job_type, context.attempt, _now_ms())
        if not self._window:
            self._open_window()

    def attempt_scope(self, record: Record, context: Context) -> None:
        if id(record) in self._open and context.job_type in self._tracked.results:
            box: list[object] = []
            self._boxes[id(record)] = box
            RESULT_BOX.set(box)

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Record | None = None,
        error: BaseException | None = None,
    ) -> None:
        key = id(record)
        attempt = self._open.pop(key, None)
        if attempt is None:
            return
        self._announced.discard(key)
        box = self._boxes.pop(key, None) if self.scoped else None
        if outcome != PROCESSED:
            return  # a failure is written as it is decided: retry_scheduled, letter_written
        _record, job_type, number, started_ms = attempt
        now = _now_ms()
        job_id = _job_id(_record)
        if box is None:
            self._write_entry(job_id, done_entry(job_id, job_type, number, started_ms, now))
            return
        done = Transition(job_id, "done", job_type, number, now, started_ms, now)
        done.result, done.error = self._result(job_type, job_id, box, error)
        self._write(done)

    def retry_scheduled(
        self, record: Record, job_type: str, attempt: int, delay: float, error: BaseException
    ) -> None:
        if job_type not in self._tracked.names:
            return
        now = _now_ms()
        next_ms = now + int(delay * 1000)
        retrying = Transition(
            _job_id(record), "retrying", job_type, attempt, now, 0, 0, next_ms, _described(error)
        )
        self._write(retrying)

    def letter_written(self, record: Record, job_type: str | None, reason: str) -> None:
        if job_type not in self._tracked.names:
            return
        dead = Transition(_job_id(record), "dead_lettered", job_type, 0, _now_ms(), reason=reason)
        self._write(dead)

    def job_expired(self, record: Record, job_type: str, action: str) -> None:
        if job_type not in self._tracked.names or action != "drop":
            return  # one dead-lettered is written when its letter is
        expired = Transition(_job_id(record), "expired", job_type, 0, _now_ms(), reason="expired")
        self._write(expired)

    def job_parked(self, record: Record, job_type: str | None, blocked_by: str) -> None:
        if job_type not in self._tracked.names:
            return
        parked = Transition(
            _job_id(record), "parked", job_type, 0, _now_ms(), reason=PARKED, blocked_by=blocked_by
        )
        self._write(parked)

    def send(self) -> None:
        """Hand every pending status to the producer, a batch per partition: a window's end."""
        self._window = False
        self._announce()
        pending, self._pending = self._pending, {}
        by_partition: dict[int, list[str]] = {}
        for job_id, entry in pending.items():
            by_partition.setdefault(partition_of(job_id, self._partitions), []).append(entry)
        for partition, entries in by_partition.items():
            for batch in _cut(entries):
                self._produce(partition, batch)
        self._producer.poll(0)  # serve the delivery reports that are in

    def _produce(self, partition: int, entries: list[str]) -> None:
        self._batches += 1
        key = self._key_prefix + str(self._batches).encode()
        try:
            self._producer.produce(
                self._topic,
                batch_value(self.worker, entries),
                key,
                partition=partition,
                on_delivery=partial(self.on_delivery, len(entries)),
            )
        except BufferError:
            self.dropped += len(entries)
        else:
            self._unreported += len(entries)

    def close(self, timeout: float) -> None:
        """Send what is pending and batched, waiting at most `timeout` seconds."""
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

    def _announce(self) -> None:
        """Write `running` for the attempts under way that have none written yet."""
        for key, (record, job_type, number, started_ms) in self._open.items():
            if key not in self._announced:
                self._announced.add(key)
                job_id = _job_id(record)
                running = Transition(job_id, "running", job_type, number, started_ms, started_ms)
                self._pending[job_id] = status_entry(running)

    def _write(self, transition: Transition) -> None:
        self._write_entry(transition.job_id, status_entry(transition))

    def _write_entry(self, job_id: str, entry: str) -> None:
        self._pending[job_id] = entry
        if not self._window:
            self._open_window()

    def _open_window(self) -> None:
        self._window = True
        self._later(self._linger_s, self.send)


def _cut(entries: list[str]) -> list[list[str]]:
    """`entries` in batches of at most `BATCH_STATUSES` entries and about `BATCH_CHARS`."""
    batches: list[list[str]] = [[]]
    size = 0
    for entry in entries:
        if batches[-1] and (len(batches[-1]) >= BATCH_STATUSES or size + len(entry) > BATCH_CHARS):
            batches.append([])
            size = 0
        batches[-1].append(entry)
        size += len(entry)
    return batches


def _job_id(record: Record) -> str:
    # A plain loop, not `header_value`: once per tracked job, and the id is the first header.
    for name, value in record.headers() or ():
        if name == JOB_ID:
            return value.decode("utf-8", "replace")
    return ""


def _plain(value: object) -> object:
    return value.model_dump() if isinstance(value, BaseModel) else value


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _now_ms() -> int:
    return int(time.time() * 1000)
