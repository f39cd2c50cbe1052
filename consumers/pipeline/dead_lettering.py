"""Setting a record aside: the dead-letter write, acknowledged before the offset counts.

A poison record or a job that failed for good is written to its topic's dead-letter topic with
the original key and value and the `dead_letter` headers. Only the acknowledgement makes it
*finished* (`finished(delivery)`); a write that fails is retried with a doubling backoff while
the partition's commit stays behind it, so nothing is dropped, and the partition is reported
`blocked` until the topic takes the record. A record whose partition was given up meanwhile is
not written: its next owner runs it and sets it aside again (`given_up(delivery)`).
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from pydantic import BaseModel

from keel.consumers.middleware import Observer
from keel.consumers.pipeline.dead_letter import Failure, Origin, dead_letter_headers
from keel.consumers.pipeline.decode import Poison, poison
from keel.consumers.pipeline.partition import Delivery
from keel.consumers.pipeline.records import Message
from keel.consumers.pipeline.retry import DeadLetter
from keel.consumers.pipeline.sink import DeadLetterSink
from keel.schemas.headers import JOB_TYPE

_LOG = logging.getLogger(__name__)


class Names(Protocol):
    """How the pipeline names things it does not own: job types and dead-letter topics."""

    def job_type(self, model: type[BaseModel]) -> str: ...
    def dead_letter_topic(self, topic: str) -> str: ...


@dataclass(frozen=True, slots=True)
class DeadLetterConfig:
    group: str
    retry_max: float = 30.0


class DeadLetterer:
    """Writes records to their dead-letter topic and reports them finished once acknowledged."""

    def __init__(
        self,
        config: DeadLetterConfig,
        *,
        sink: DeadLetterSink,
        names: Names,
        observer: Observer,
        finished: Callable[[Delivery], None],
        given_up: Callable[[Delivery], None],
    ) -> None:
        self._config = config
        self._sink = sink
        self._names = names
        self._observer = observer
        self._finished = finished
        self._given_up = given_up
        self._loop = asyncio.get_running_loop()

    def poison(self, delivery: Delivery, reason: Poison) -> None:
        """Set aside a record that can never become a job."""
        now = _now_ms()
        if delivery.job is not None:
            job_type: str | None = self._names.job_type(type(delivery.job))
        else:
            job_type = _header(delivery.message, JOB_TYPE)
        self._observer.poisoned(delivery.message, job_type, reason)
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
        self._write(delivery, failure)

    def failed(self, delivery: Delivery, decision: DeadLetter, error: BaseException) -> None:
        """Set aside a job that failed for good (fatal, rejected, or out of attempts)."""
        described = poison("", error)
        registration = delivery.registration
        assert registration is not None  # noqa: S101 - only a started job can fail
        failure = Failure(
            reason=decision.reason,
            error_class=described.error_class,
            message=described.message,
            traceback=described.traceback,
            attempts=delivery.attempt,
            first_failure_ms=delivery.first_failure_ms,
            last_failure_ms=delivery.last_failure_ms,
            job_type=self._names.job_type(registration.job_type),
        )
        self._write(delivery, failure)

    def _write(self, delivery: Delivery, failure: Failure, backoff: float = 0.5) -> None:
        part = delivery.part
        if part.closed:
            self._given_up(delivery)
            return
        part.busy += 1
        message = delivery.message
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
            partial(self._written, delivery, failure, backoff),
        )

    def _written(
        self, delivery: Delivery, failure: Failure, backoff: float, error: str | None
    ) -> None:
        part = delivery.part
        part.busy -= 1
        if error is None:
            part.blocked = None
            self._observer.dead_lettered(failure.job_type or "", failure.reason)
            self._finished(delivery)
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
            self._loop.call_later(backoff, self._rewrite, delivery, failure, backoff)
        part.check_idle()

    def _rewrite(self, delivery: Delivery, failure: Failure, backoff: float) -> None:
        delivery.part.busy -= 1
        self._write(delivery, failure, min(backoff * 2, self._config.retry_max))
        delivery.part.check_idle()


def note_failure(delivery: Delivery) -> None:
    """Remember when a job first and last failed, for the dead-letter headers."""
    now = _now_ms()
    delivery.first_failure_ms = delivery.first_failure_ms or now
    delivery.last_failure_ms = now


def _header(message: Message, name: str) -> str | None:
    for key, value in message.headers() or ():
        if key == name and value is not None:
            return value.decode("utf-8", "replace")
    return None


def _now_ms() -> int:
    return int(time.time() * 1000)
