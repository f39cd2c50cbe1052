"""Publishing jobs from synchronous code: `Publisher`.

`publish` returns only once the broker has the job (acks from all in-sync replicas) or raises;
`publish_nowait` hands the job to librdkafka and returns its id at once, for bulk producers that
`flush()` at the end. Either way no failure is dropped: it goes to the job's callback, or, for a
job published without one, is raised by the next `flush()` or `close()`.
"""

import time
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
from keel.producers.records import DeliveryReport, Key, Record
from keel.producers.settings import ProducerSettings
from keel.producers.status.results import PlainResult, outcome
from keel.schemas.catalog import JobCatalog
from keel.schemas.job import Job
from keel.schemas.lanes import Priority
from keel.schemas.settings import ClusterSettings
from keel.schemas.status.record import JobStatus
from keel.schemas.tracing import TracerProvider

# librdkafka reports every job within delivery.timeout.ms; this margin only guards against a
# report that never comes, so `publish` cannot wait forever.
_REPORT_MARGIN_S = 5.0
_POLL_S = 0.05
R = TypeVar("R", bound=Job)


class _Waiter:
    """Receives the outcome of one job published with `publish`."""

    __slots__ = ("outcome",)

    def __init__(self) -> None:
        self.outcome: Outcome | None = None

    def __call__(self, outcome: Outcome) -> None:
        self.outcome = outcome


class Publisher:
    """Publishes typed jobs to their routed topics; a context manager that flushes on exit.

    Without a `catalog` it publishes any job model, each stating its own schema (a service's
    own types need no listing); its schema id is resolved on the type's first publish. Given a
    catalog, opening asks the registry for every routed type's schema id, so a registry that
    cannot be reached fails here, with `RegistryUnavailableError`, and not at the first publish.
    """

    def __init__(
        self,
        cluster: ClusterSettings | None = None,
        settings: ProducerSettings | None = None,
        catalog: JobCatalog | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        """`tracer_provider` defaults to the global one; without either, nothing is traced."""
        self._connection = Connection(cluster, settings, catalog, tracer_provider)

    def publish(
        self,
        job: Job,
        key: Key | None = None,
        *,
        priority: Priority | None = None,
        expires: Expires | None = None,
        delay: Delay | None = None,
        eta: datetime | None = None,
    ) -> Delivery:
        """Publish `job` and wait for the broker to acknowledge it; raises `PublishError`.

        `priority` (a lane or 0-9) overrides the lane of the job type's route. `expires`: a job
        not started by then is not run (an aware datetime, or a timedelta or seconds from now;
        docs/scheduling.md); one already past raises `ExpiryError`. `delay` (seconds or a
        timedelta) or `eta` (an aware datetime) makes it a delayed job: durable in the delayed
        topic when this returns, released to its topic at its time by `keel dispatcher run`.
        One beyond `max_delay_s`, or one that would expire before it is due, raises
        `DelayError`, sending nothing; an `eta` in the past publishes it now.
        """
        record = self._record(job, key, priority, expires, delay, eta)
        return self._send(record)

    def status(self, job_id: str) -> JobStatus:
        """What was last recorded about job `job_id` (docs/status.md); `unknown` says why."""
        return self._connection.statuses.status(job_id)

    @overload
    def result(self, job_id: str, timeout: float, model: type[R]) -> R: ...
    @overload
    def result(self, job_id: str, timeout: float, model: None = None) -> PlainResult: ...
    def result(self, job_id: str, timeout: float, model: type[R] | None = None) -> R | PlainResult:
        """Wait up to `timeout` seconds for job `job_id` to end, and return its result.

        Decoded into `model` (its type's `keel_result`) when given, else into plain values.
        Raises `ResultTimeoutError` when it has not ended in time, `JobFailedError` (with the
        reason) when it was dead-lettered or expired, `NoResultError` when it stored none.
        """
        connection = self._connection
        return outcome(connection.statuses.wait(job_id, timeout), connection.registry, model)

    def cancel(self, job_id: str) -> None:
        """Ask the dispatcher not to release the delayed job `job_id`; waits for the broker.

        A job already released (or due before the dispatcher reads the cancel) still runs.
        """
        self._send(cancel_record(DelayedNames(self._connection.settings.delayed_topic), job_id))

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
        if priority is None and expires is None and delay is None and eta is None:
            return self._connection.build(job, key)  # most publishes: 0.2 µs of calls fewer
        at = None if expires is None else expires_at_ms(expires)
        record = stamp_expiry(self._in_lane(job, key, priority), at)
        return put_off(record, delay, eta, self._connection.settings)

    def _send(self, record: Record) -> Delivery:
        waiter = _Waiter()
        self._produce(record, waiter)
        deadline = time.monotonic() + self._connection.delivery_timeout_s + _REPORT_MARGIN_S
        while waiter.outcome is None:
            if time.monotonic() > deadline:
                raise PublishTimeoutError("no delivery report from librdkafka", record.job_id)
            self._connection.producer.poll(_POLL_S)
        if isinstance(waiter.outcome, PublishError):
            raise waiter.outcome
        return waiter.outcome

    def publish_many(self, jobs: Iterable[tuple[Job, Key | None]]) -> list[Delivery]:
        """Publish every `(job, key)` and wait for all their acknowledgements; in order.

        For bulk producers: one wait for the lot instead of one per job. Every job is validated,
        routed and encoded before the first is queued, so one that cannot be published raises
        here with none of them sent. Once every outcome is in, a `PublishError` counts the jobs
        not delivered and quotes the first.
        """
        records = [self._connection.build(job, key) for job, key in jobs]
        waiters = [_Waiter() for _ in records]
        for record, waiter in zip(records, waiters, strict=True):
            self._produce(record, waiter)
        deadline = time.monotonic() + self._connection.delivery_timeout_s + _REPORT_MARGIN_S
        for record, waiter in zip(records, waiters, strict=True):
            while waiter.outcome is None:
                if time.monotonic() > deadline:
                    raise PublishTimeoutError("no delivery report from librdkafka", record.job_id)
                self._connection.producer.poll(_POLL_S)
        return all_delivered([w.outcome for w in waiters if w.outcome is not None])

    def publish_nowait(
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
        """Queue `job` and return its id; `on_delivery` gets a `Delivery` or a `PublishError`.

        Validation, routing, a missing key, a refused priority, expiry or delay, and an
        oversized job still raise here, at once. The keyword arguments are as for `publish`.
        """
        record = self._record(job, key, priority, expires, delay, eta)
        self._produce(record, on_delivery)
        return record.job_id

    def flush(self, timeout: float | None = None) -> int:
        """Wait for queued jobs; returns how many are still queued after `timeout`.

        Raises a `PublishError` for jobs published without a callback that failed.
        """
        remaining = int(self._connection.producer.flush(-1 if timeout is None else timeout))
        failure = self._connection.take_failures()
        if failure is not None:
            raise failure
        return remaining

    def close(self, timeout: float | None = None) -> None:
        """Flush every queued job, then release the clients."""
        remaining = self._connection.close(timeout)
        failure = self._connection.take_failures()
        if failure is not None:
            raise failure
        if remaining:
            raise PublishTimeoutError(f"{remaining} job(s) still undelivered at close")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _in_lane(self, job: Job, key: Key | None, priority: Priority | None) -> Record:
        connection = self._connection
        return connection.records.in_lane(connection.build(job, key), job, priority)

    def _produce(self, record: Record, on_delivery: OnDelivery | None) -> None:
        connection = self._connection
        report = None if on_delivery is None else connection.reporter(record, on_delivery)
        try:
            connection.produce(record, report)
        except BufferError:
            self._produce_when_room(record, report)
        # Serve the reports that are ready (earlier jobs'); measured at 2% of a typed publish.
        connection.producer.poll(0)

    def _produce_when_room(self, record: Record, report: DeliveryReport | None) -> None:
        # librdkafka's queue is full: serve delivery reports until there is room.
        while True:
            self._connection.producer.poll(_POLL_S)
            try:
                self._connection.produce(record, report)
            except BufferError:
                continue
            return
