"""The worker's half of job status: each transition of a tracked job, written by job id.

An observer (`pipeline.observer`): `running` when an attempt starts, `retrying` with the next
attempt's time when one fails and will be tried again, `done` (with the result, when the type
declares one) when it succeeds, `dead_lettered` with the reason once its dead letter is
acknowledged, `expired` when it expired before it started and was dropped (an expired job that
is dead-lettered is `dead_lettered`, reason `expired`), `parked` with the job it waits behind
once its park behind a quarantined key is acknowledged (a replay or release that runs it later
writes `running` and on, over it).

Off the hot path: a transition only replaces the job's pending status in a dict; every
`KEEL_STATUS_LINGER_MS` the pending statuses go to a producer of the recorder's own, one record
per job (a job that ran and finished within the window writes only `done`: the cost of status
is about one small record per job). Nothing waits for them, and an untracked job costs a set
lookup. A status that cannot be queued (librdkafka's queue full) or delivered is counted and
logged, and the job goes on: a status may trail, or miss, a transition (docs/status.md).
"""

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer
from pydantic import BaseModel, ValidationError

from keel.consumers.context import Context
from keel.consumers.pipeline.observer import PROCESSED, NoObserver
from keel.consumers.pipeline.quarantine import PARKED
from keel.consumers.pipeline.records import Message as Record
from keel.consumers.status.results import RESULT_BOX
from keel.consumers.status.values import Transition, status_value
from keel.schemas.errors import EncodeError
from keel.schemas.headers import JOB_ID
from keel.schemas.job import Job
from keel.schemas.status.record import partition_of

_LOG = logging.getLogger(__name__)
ResultEncoder = Callable[[Job], bytes]
Later = Callable[[float, Callable[[], None]], object]


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
        """`producer(extra)` builds the recorder's producer with `extra` keys (its callback).

        `later(seconds, callback)` calls back on the loop (`loop.call_later`): the window's end.
        """
        self._producer = producer({"on_delivery": self.on_delivery})
        self._later = later
        self._linger_s = linger_s
        self._pending: dict[str, Transition] = {}  # job id -> its latest transition
        self._topic = topic
        self._partitions = partitions
        self._tracked = tracked
        # Only a type with a result needs each attempt in a context of its own (its box).
        self.scoped = bool(tracked.results)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._open: dict[int, Transition] = {}  # id(record) -> its attempt under way
        self.dropped = 0  # statuses not queued or not delivered

    def attempt_started(self, record: Record, context: Context) -> None:
        job_type = context.job_type
        if job_type not in self._tracked.names:
            return
        now = _now_ms()
        running = Transition(_job_id(record), "running", job_type, context.attempt, now, now)
        self._open[id(record)] = running
        self._write(running)

    def attempt_scope(self, record: Record, context: Context) -> None:
        attempt = self._open.get(id(record))
        if attempt is not None and context.job_type in self._tracked.results:
            attempt.box = []
            RESULT_BOX.set(attempt.box)

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Record | None = None,
        error: BaseException | None = None,
    ) -> None:
        attempt = None if record is None else self._open.pop(id(record), None)
        if attempt is None or outcome != PROCESSED:
            return  # a failure is written as it is decided: retry_scheduled, letter_written
        if attempt.box is not None:
            attempt.result, attempt.error = self._result(job_type, attempt, error)
            attempt.box = None
        attempt.state = "done"
        attempt.at_ms = attempt.finished_ms = _now_ms()
        self._write(attempt)  # the same object as its `running`: sent once if still pending

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
        """Hand every pending status to the producer: the end of a window."""
        pending, self._pending = self._pending, {}
        produce = self._producer.produce
        for job_id, transition in pending.items():
            try:
                produce(
                    self._topic,
                    status_value(self.worker, transition),
                    job_id.encode(),
                    partition=partition_of(job_id, self._partitions),
                )
            except BufferError:
                self.dropped += 1
        self._producer.poll(0)  # serve the delivery reports that are in

    def close(self, timeout: float) -> None:
        """Send what is pending and batched, waiting at most `timeout` seconds."""
        self.send()
        left = self._producer.flush(max(timeout, 0))
        if left:
            self.dropped += left
            _LOG.warning("%d job statuses not sent before the worker stopped", left)

    def on_delivery(self, error: KafkaError | None, message: Message) -> None:
        """The producer's callback: a status that did not arrive is counted and logged."""
        if error is not None:
            self.dropped += 1
            _LOG.warning("status of job %r not written: %s", message.key(), error.str())

    def _result(
        self, job_type: str, attempt: Transition, error: BaseException | None
    ) -> tuple[bytes | None, str | None]:
        declared = self._tracked.results.get(job_type)
        if declared is None or error is not None or not attempt.box:
            return None, None
        model, encoder = declared
        value = attempt.box[-1]
        try:
            checked = value if isinstance(value, model) else model.model_validate(_plain(value))
            return encoder(checked), None
        except (ValidationError, EncodeError, TypeError) as problem:
            _LOG.warning(
                "result of job %s is not a %s: %s", attempt.job_id, model.__name__, problem
            )
            return None, f"result invalid: {problem}"

    def _write(self, transition: Transition) -> None:
        if not self._pending:
            self._later(self._linger_s, self.send)  # the window opens with its first status
        self._pending[transition.job_id] = transition


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
