"""Publishing jobs from asyncio code: `AsyncPublisher`.

confluent-kafka 2.16 ships `confluent_kafka.aio.AIOProducer`, but its `produce()` batches
messages through `produce_batch`, which cannot carry headers: it raises `NotImplementedError`
when given any (a test pins this, so an upgrade that lifts the limit is noticed). keel's job id,
type, attempt and trace context travel in headers, so this publisher wraps the plain `Producer`
instead: `produce()` never blocks, and one thread polls for delivery reports and hands each to
the event loop, settling the awaiting future.
"""

import asyncio
import threading
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar, overload

from keel.producers.client import Connection
from keel.producers.delayed.cancels import cancel_record
from keel.producers.delayed.names import DelayedNames
from keel.producers.delayed.records import put_off
from keel.producers.delayed.timing import Delay
from keel.producers.delivery import Delivery, OnDelivery, Outcome, all_delivered
from keel.producers.errors import PublishError, PublishTimeoutError
from keel.producers.expiry import Expires, expires_at_ms, stamp_expiry
from keel.producers.records import Key, Record
from keel.producers.settings import ProducerSettings
from keel.producers.status.results import PlainResult, outcome
from keel.schemas.catalog import JobCatalog
from keel.schemas.job import Job
from keel.schemas.lanes import Priority
from keel.schemas.settings import ClusterSettings
from keel.schemas.status.record import JobStatus
from keel.schemas.tracing import TracerProvider

_REPORT_MARGIN_S = 5.0
_POLL_S = 0.1
_FULL_QUEUE_BACKOFF_S = 0.01
R = TypeVar("R", bound=Job)


class AsyncPublisher:
    """Publishes typed jobs from a coroutine: `await publisher.publish(job, key=...)`.

    Open it with `async with AsyncPublisher() as publisher:` (or `await open()` / `await
    close()`, e.g. in a web app's lifespan).
    """

    def __init__(
        self,
        cluster: ClusterSettings | None = None,
        settings: ProducerSettings | None = None,
        catalog: JobCatalog | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        """`tracer_provider` defaults to the global one; without either, nothing is traced."""
        self._args = (cluster, settings, catalog, tracer_provider)
        self._connection: Connection | None = None
        self._poller: threading.Thread | None = None
        self._stopping = threading.Event()

    async def open(self) -> Self:
        """Connect and resolve schema ids (off the event loop: the registry client blocks)."""
        self._connection = await asyncio.to_thread(Connection, *self._args)
        self._stopping.clear()
        self._poller = threading.Thread(target=self._poll, name="keel-publisher-poll", daemon=True)
        self._poller.start()
        return self

    async def publish(
        self,
        job: Job,
        key: Key | None = None,
        *,
        priority: Priority | None = None,
        expires: Expires | None = None,
        delay: Delay | None = None,
        eta: datetime | None = None,
    ) -> Delivery:
        """Publish `job` and await the broker's acknowledgement; raises `PublishError`.

        `priority`, `expires`, `delay` and `eta` as for `Publisher.publish`.
        """
        record = self._record(job, key, priority, expires, delay, eta)
        return await self._send(record)

    async def status(self, job_id: str) -> JobStatus:
        """What was last recorded about job `job_id` (`Publisher.status`)."""
        return await asyncio.to_thread(self._open_connection().statuses.status, job_id)

    @overload
    async def result(self, job_id: str, timeout: float, model: type[R]) -> R: ...
    @overload
    async def result(self, job_id: str, timeout: float, model: None = None) -> PlainResult: ...
    async def result(
        self, job_id: str, timeout: float, model: type[R] | None = None
    ) -> R | PlainResult:
        """Await job `job_id`'s end for up to `timeout` seconds; `Publisher.result`."""
        connection = self._open_connection()
        status = await asyncio.to_thread(connection.statuses.wait, job_id, timeout)
        return await asyncio.to_thread(lambda: outcome(status, connection.registry, model))

    async def cancel(self, job_id: str) -> None:
        """Ask the dispatcher not to release the delayed job `job_id` (`Publisher.cancel`)."""
        names = DelayedNames(self._open_connection().settings.delayed_topic)
        await self._send(cancel_record(names, job_id))

    def _record(  # noqa: PLR0917 - the publish arguments, checked in one place
        self,
        job: Job,
        key: Key | None,
        priority: Priority | None,
        expires: Expires | None,
        delay: Delay | None,
        eta: datetime | None,
    ) -> Record:
        """The record `publish` sends: its lane, its expiry, and put off when it is delayed."""
        connection = self._open_connection()
        at = None if expires is None else expires_at_ms(expires)
        record = stamp_expiry(
            connection.records.in_lane(connection.build(job, key), job, priority), at
        )
        return put_off(record, delay, eta, connection.settings)

    async def _send(self, record: Record) -> Delivery:
        connection = self._open_connection()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        await self._produce(record, _settler(loop, future))
        timeout = connection.delivery_timeout_s + _REPORT_MARGIN_S
        try:
            outcome = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise PublishTimeoutError("no delivery report from librdkafka", record.job_id) from None
        if isinstance(outcome, PublishError):
            raise outcome
        return outcome

    async def publish_many(self, jobs: Iterable[tuple[Job, Key | None]]) -> list[Delivery]:
        """Publish every `(job, key)` and await all their acknowledgements; in order.

        As `Publisher.publish_many`: all are built before the first is queued, and a
        `PublishError` counting the failures is raised once every outcome is in.
        """
        connection = self._open_connection()
        records = [connection.build(job, key) for job, key in jobs]
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Outcome]] = [loop.create_future() for _ in records]
        for record, future in zip(records, futures, strict=True):
            await self._produce(record, _settler(loop, future))
        timeout = connection.delivery_timeout_s + _REPORT_MARGIN_S
        try:
            outcomes = await asyncio.wait_for(asyncio.gather(*futures), timeout)
        except TimeoutError:
            raise PublishTimeoutError("no delivery report from librdkafka for every job") from None
        return all_delivered(outcomes)

    async def publish_nowait(
        self,
        job: Job,
        key: Key | None = None,
        on_delivery: OnDelivery | None = None,
        *,
        priority: Priority | None = None,
        expires: Expires | None = None,
        delay: Delay | None = None,
        eta: datetime | None = None,
    ) -> str:
        """Queue `job` and return its id; `on_delivery` runs on the event loop with the outcome."""
        record = self._record(job, key, priority, expires, delay, eta)
        report = None
        if on_delivery is not None:
            report = _on_loop(asyncio.get_running_loop(), on_delivery)
        await self._produce(record, report)
        return record.job_id

    async def flush(self, timeout: float | None = None) -> int:
        """Wait for queued jobs; raises a `PublishError` for unreported failures."""
        connection = self._open_connection()
        wait = -1 if timeout is None else timeout
        remaining = int(await asyncio.to_thread(connection.producer.flush, wait))
        failure = connection.take_failures()
        if failure is not None:
            raise failure
        return remaining

    async def close(self, timeout: float | None = None) -> None:
        """Flush every queued job, stop polling and release the clients."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            remaining = await asyncio.to_thread(connection.close, timeout)
        finally:
            self._stop_polling()
        failure = connection.take_failures()
        if failure is not None:
            raise failure
        if remaining:
            raise PublishTimeoutError(f"{remaining} job(s) still undelivered at close")

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _produce(self, record: Record, on_delivery: OnDelivery | None) -> None:
        connection = self._open_connection()
        report = None if on_delivery is None else connection.reporter(record, on_delivery)
        while True:
            try:
                connection.produce(record, report)
            except BufferError:
                # librdkafka's queue is full; the poll thread is draining it.
                await asyncio.sleep(_FULL_QUEUE_BACKOFF_S)
            else:
                return

    def _open_connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("AsyncPublisher is not open: use `async with` or `await open()`")
        return self._connection

    def _poll(self) -> None:
        # Delivery callbacks run here, on this thread; each hands its outcome to the loop.
        while not self._stopping.is_set():
            connection = self._connection
            if connection is None:
                return
            connection.producer.poll(_POLL_S)

    def _stop_polling(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            self._poller.join()
            self._poller = None


def _settler(loop: asyncio.AbstractEventLoop, future: "asyncio.Future[Outcome]") -> OnDelivery:
    def settle(outcome: Outcome) -> None:
        loop.call_soon_threadsafe(_resolve, future, outcome)

    return settle


def _resolve(future: "asyncio.Future[Outcome]", outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


def _on_loop(loop: asyncio.AbstractEventLoop, on_delivery: OnDelivery) -> OnDelivery:
    def forward(outcome: Outcome) -> None:
        loop.call_soon_threadsafe(on_delivery, outcome)

    return forward
