"""The dead-letter topic's producer: idempotent, acknowledged by all in-sync replicas.

Delivery reports are served by polling the producer from the event loop (a short timer while
writes are pending), so `done` runs on the loop thread with no extra thread. A record too large
for the broker once our headers are added is written again with the traceback header dropped;
an idempotent producer that hits a fatal error is replaced.

A replaced producer is retired, not dropped: writes it still holds have a delivery report to
come, and a dead letter's offset counts as finished only once its report says it was
acknowledged. Its unsent writes are purged (each reported as failed, so the writer sends it
again through the new producer), and it is polled with the current one until every report it
owed has been served.

A refused write is told in the authorizer's words (`refused_write`): "not authorized to Write
topic jobs.dlt". Without Write on any topic an idempotent producer cannot even get its producer
id (Kafka then asks for IdempotentWrite on the cluster) and fails fatally before the first
write; the producer's error callback keeps that cause, which `produce` would only call "fatal".
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from keel.consumers.dead_letters.sink import Acknowledged
from keel.consumers.pipeline.deadline import Deadline
from keel.consumers.pipeline.records import Header
from keel.schemas.access import not_authorized, refusal
from keel.schemas.headers import DLT_TRACEBACK

_LOG = logging.getLogger(__name__)
POLL_EVERY = 0.005
_DROPPED = b"(dropped: the record was too large with it)"


class KafkaSink:
    """Writes dead letters with a confluent-kafka `Producer`."""

    def __init__(self, connect: Callable[[Mapping[str, Any]], Producer]) -> None:
        """`connect(extra)` builds the producer with `extra` keys (the error callback) added."""
        self._connect = connect
        self._fatal: KafkaError | None = None  # why the producer failed fatally, if it did
        self._producer = self._new_producer()
        self._retired: list[Producer] = []  # replaced, with delivery reports still to serve
        self._loop = asyncio.get_running_loop()
        self._pending = 0
        self._polling: asyncio.TimerHandle | None = None

    def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[Header],
        done: Acknowledged,
    ) -> None:
        record = (topic, key, value, headers)
        producer = self._producer
        try:
            producer.produce(
                topic,
                value,
                key,
                headers=cast("list[tuple[str, str | bytes | None]]", headers),
                on_delivery=partial(self._report, producer, record, done),
            )
        except BufferError:
            self._loop.call_later(0.05, self.publish, topic, key, value, headers, done)
            return
        except KafkaException as error:
            self._loop.call_soon(done, self._refused(producer, topic, error.args[0]))
            return
        self._pending += 1
        self._schedule()

    def _report(
        self,
        producer: Producer,
        record: tuple[str, bytes | None, bytes | None, list[Header]],
        done: Acknowledged,
        error: KafkaError | None,
        _message: Message,
    ) -> None:
        self._pending -= 1
        if error is None:
            done(None)
            return
        topic, key, value, headers = record
        if error.code() == KafkaError.MSG_SIZE_TOO_LARGE and _has_traceback(headers):
            self.publish(topic, key, value, _without_traceback(headers), done)
            return
        done(self._refused(producer, topic, error))

    def _refused(self, producer: Producer, topic: str, error: KafkaError) -> str:
        """Why a write to `topic` failed; a fatal producer is replaced, its cause named."""
        fatal = error.fatal() or error.code() == KafkaError._FATAL
        if fatal and producer is self._producer:  # a retired one's reports change nothing
            try:
                self._producer.poll(0)  # serves the error callback that holds the cause
            except KafkaException as raised:  # or poll raises the cause itself
                self._fatal = self._fatal or raised.args[0]
            cause, self._fatal = self._fatal, None
            error = cause or error
            _LOG.error("dead-letter producer failed fatally (%s); replacing it", error)
            self._retire(self._producer)
            self._producer = self._new_producer()
        return refused_write(error, topic)

    def _retire(self, producer: Producer) -> None:
        """Keep serving `producer`'s reports; fail its unsent writes now so they are resent."""
        with contextlib.suppress(KafkaException):  # a producer beyond purging still reports
            producer.purge(in_queue=True, in_flight=False, blocking=False)
        self._retired.append(producer)
        self._schedule()

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = error

    def _new_producer(self) -> Producer:
        return self._connect({"error_cb": self._on_error})

    def _schedule(self) -> None:
        if self._polling is None:
            self._polling = self._loop.call_later(POLL_EVERY, self._poll)

    def _poll(self) -> None:
        self._polling = None
        for retired in list(self._retired):
            _serve(retired, 0)
            if len(retired) == 0:  # every report it owed has been served
                self._retired.remove(retired)
        self._producer.poll(0)
        if self._pending or self._retired:
            self._schedule()

    def close(self, timeout: float = 10.0) -> None:
        """Wait for pending writes (their reports run here), then let the producer go."""
        deadline = Deadline.after(timeout)
        for retired in self._retired:
            _serve(retired, deadline.remaining())
        self._retired.clear()
        try:
            remaining = self._producer.flush(deadline.remaining())
        except KafkaException as error:  # a fatal producer: what it held is not acknowledged
            _LOG.warning("dead-letter producer closed failed: %s", error.args[0].str())
            remaining = 0
        if remaining:
            _LOG.warning("%d dead-letter writes unacknowledged at close", remaining)
        if self._polling is not None:
            self._polling.cancel()
            self._polling = None


def _serve(producer: Producer, timeout: float) -> None:
    """Serve a retired producer's delivery reports; a fatal one may raise its cause instead."""
    try:
        producer.flush(timeout)
    except KafkaException as error:
        _LOG.warning("retired dead-letter producer: %s", error.args[0])


def refused_write(error: KafkaError, topic: str) -> str:
    """The line for a failed dead-letter write: an ACL refusal names Write and the topic."""
    if error.code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
        # Only an idempotent producer's id asks about the cluster: Write on the topic suffices.
        return not_authorized("Write", "topic", topic, error.name())
    return refusal(error, "Write", topic) or error.str()


def _has_traceback(headers: list[Header]) -> bool:
    return any(name == DLT_TRACEBACK and value != _DROPPED for name, value in headers)


def _without_traceback(headers: list[Header]) -> list[Header]:
    return [(name, _DROPPED if name == DLT_TRACEBACK else value) for name, value in headers]
