"""Setting a record aside: the dead-letter write, acknowledged before the offset counts.

A poison record or a job that failed for good is written to its topic's dead-letter topic with
the original key and value and the `dead_letter` headers. Only the acknowledgement makes it
*finished* (`finished(record)`); a write that fails is retried with a doubling backoff while
the partition's commit stays behind it, so nothing is dropped, and the partition is reported
`blocked` until the topic takes the record. A record whose partition was given up meanwhile is
not written: its next owner runs it and sets it aside again (`given_up(record)`).

The writer works on the pipeline's per-record state and is the engine's only way out to a
`DeadLetterSink`; the engine knows it through the `DeadLetters` protocol alone.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from keel.consumers.dead_letters.headers import Failure, Origin, dead_letter_headers
from keel.consumers.dead_letters.sink import DeadLetterSink
from keel.consumers.pipeline.decode import Poison, poison
from keel.consumers.pipeline.engine import Names
from keel.consumers.pipeline.observer import Observer
from keel.consumers.pipeline.partition import RecordState
from keel.consumers.pipeline.records import Message
from keel.consumers.retry_policy import DeadLetter
from keel.schemas.headers import JOB_TYPE

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetterConfig:
    group: str
    retry_max: float = 30.0


class DeadLetterWriter:
    """Writes records to their dead-letter topic and reports them finished once acknowledged.

    The engine builds one through the `DeadLetters` factory it is given (see
    `keel.consumers.engine.build_engine`) and hands it its own `finished` and `given_up`.
    """

    def __init__(
        self,
        config: DeadLetterConfig,
        *,
        sink: DeadLetterSink,
        names: Names,
        observer: Observer,
        finished: Callable[[RecordState], None],
        given_up: Callable[[RecordState], None],
    ) -> None:
        self._config = config
        self._sink = sink
        self._names = names
        self._observer = observer
        self._finished = finished
        self._given_up = given_up
        self._loop = asyncio.get_running_loop()

    def poison(self, record: RecordState, reason: Poison) -> None:
        """Set aside a record that can never become a job."""
        now = _now_ms()
        if record.job is not None:
            job_type: str | None = self._names.job_type(type(record.job))
        else:
            job_type = _header(record.message, JOB_TYPE)
        self._observer.poisoned(record.message, job_type, reason)
        failure = Failure(
            reason=reason.reason,
            error_class=reason.error_class,
            message=reason.message,
            traceback=reason.traceback,
            attempts=0,
            first_failure_ms=now,
            last_failure_ms=now,
            job_type=job_type,
        )
        self._write(record, failure)

    def failed(self, record: RecordState, decision: DeadLetter, error: BaseException) -> None:
        """Set aside a job that failed for good (fatal, rejected, or out of attempts)."""
        described = poison("", error)
        registration = record.registration
        assert registration is not None  # noqa: S101 - only a started job can fail
        failure = Failure(
            reason=decision.reason,
            error_class=described.error_class,
            message=described.message,
            traceback=described.traceback,
            attempts=record.attempt,
            first_failure_ms=record.first_failure_ms,
            last_failure_ms=record.last_failure_ms,
            job_type=self._names.job_type(registration.job_type),
        )
        self._write(record, failure)

    def _write(self, record: RecordState, failure: Failure, backoff: float = 0.5) -> None:
        part = record.part
        if part.closed:
            self._given_up(record)
            return
        part.busy += 1
        message = record.message
        timestamp = message.timestamp()[1]
        origin = Origin(
            message.topic() or "", message.partition() or 0, message.offset() or 0, timestamp
        )
        headers = dead_letter_headers(origin, self._config.group, failure, message.headers())
        self._sink.publish(
            self._names.dead_letter_topic(origin.topic),
            message.key(),
            message.value(),
            headers,
            partial(self._written, record, failure, backoff),
        )

    def _written(
        self, record: RecordState, failure: Failure, backoff: float, error: str | None
    ) -> None:
        part = record.part
        part.busy -= 1
        if error is None:
            part.blocked = None
            self._observer.dead_lettered(failure.job_type or "", failure.reason)
            self._observer.letter_written(record.message, failure.job_type, failure.reason)
            self._finished(record)
        else:
            # Nothing is dropped: the offset stays unfinished, so the partition's commit stops
            # here until the dead-letter topic takes the record.
            part.blocked = error
            _LOG.error(
                "cannot write to the dead-letter topic for %s/%s (%s); retrying in %.1fs",
                *part.tp,
                error,
                backoff,
            )
            part.busy += 1  # the pending retry keeps the partition busy while it drains
            self._loop.call_later(backoff, self._rewrite, record, failure, backoff)
        part.check_idle()

    def _rewrite(self, record: RecordState, failure: Failure, backoff: float) -> None:
        record.part.busy -= 1
        self._write(record, failure, min(backoff * 2, self._config.retry_max))
        record.part.check_idle()


def _header(message: Message, name: str) -> str | None:
    for key, value in message.headers() or ():
        if key == name and value is not None:
            return value.decode("utf-8", "replace")
    return None


def _now_ms() -> int:
    return int(time.time() * 1000)
