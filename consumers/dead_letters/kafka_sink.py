"""The dead-letter topic's producer: idempotent, acknowledged by all in-sync replicas.

Delivery reports are served by polling the producer from the event loop (a short timer while
writes are pending), so `done` runs on the loop thread with no extra thread. A record too large
for the broker once our headers are added is written again with the traceback header dropped;
an idempotent producer that hits a fatal error is replaced.
"""

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import cast

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from keel.consumers.dead_letters.sink import Acknowledged
from keel.consumers.pipeline.records import Header
from keel.schemas.headers import DLT_TRACEBACK

_LOG = logging.getLogger(__name__)
POLL_EVERY = 0.005
_DROPPED = b"(dropped: the record was too large with it)"


class KafkaSink:
    """Writes dead letters with a confluent-kafka `Producer`."""

    def __init__(self, connect: Callable[[], Producer]) -> None:
        self._connect = connect
        self._producer = connect()
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
        try:
            self._producer.produce(
                topic,
                value,
                key,
                headers=cast("list[tuple[str, str | bytes | None]]", headers),
                on_delivery=partial(self._report, record, done),
            )
        except BufferError:
            self._loop.call_later(0.05, self.publish, topic, key, value, headers, done)
            return
        except KafkaException as error:
            self._loop.call_soon(done, str(error.args[0]))
            return
        self._pending += 1
        self._schedule()

    def _report(
        self,
        record: tuple[str, bytes | None, bytes | None, list[Header]],
        done: Acknowledged,
        error: KafkaError | None,
        _message: Message,
    ) -> None:
        self._pending -= 1
        if error is None:
            done(None)
            return
        if error.fatal():
            _LOG.error("dead-letter producer failed fatally (%s); replacing it", error)
            self._producer = self._connect()
        topic, key, value, headers = record
        if error.code() == KafkaError.MSG_SIZE_TOO_LARGE and _has_traceback(headers):
            self.publish(topic, key, value, _without_traceback(headers), done)
            return
        done(error.str())

    def _schedule(self) -> None:
        if self._polling is None:
            self._polling = self._loop.call_later(POLL_EVERY, self._poll)

    def _poll(self) -> None:
        self._polling = None
        self._producer.poll(0)
        if self._pending:
            self._schedule()

    def close(self, timeout: float = 10.0) -> None:
        """Wait for pending writes (their reports run here), then let the producer go."""
        remaining = self._producer.flush(timeout)
        if remaining:
            _LOG.warning("%d dead-letter writes unacknowledged at close", remaining)
        if self._polling is not None:
            self._polling.cancel()
            self._polling = None


def _has_traceback(headers: list[Header]) -> bool:
    return any(name == DLT_TRACEBACK and value != _DROPPED for name, value in headers)


def _without_traceback(headers: list[Header]) -> list[Header]:
    return [(name, _DROPPED if name == DLT_TRACEBACK else value) for name, value in headers]
