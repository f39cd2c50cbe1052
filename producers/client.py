"""The one place a publisher's clients are built: producer, registry client, codec, records.

Both publishers hold a `Connection`; it owns every client it creates and closes them all, and
it remembers failures that no caller asked about, so `flush()` can raise them instead of
dropping them silently.
"""

from collections.abc import Callable
from functools import partial

from confluent_kafka import KafkaError, KafkaException, Message

from keel.producers.delivery import (
    DEFAULT_PRODUCER_LIMIT,
    OnDelivery,
    delivery_error,
    outcome,
    too_large_for_producer,
)
from keel.producers.errors import PublishError
from keel.producers.readiness import wait_until_ready, watched
from keel.producers.records import DeliveryReport, Key, Record, RecordBuilder, produce
from keel.producers.settings import ProducerSettings
from keel.producers.status.lookup import StatusReader
from keel.producers.status.queued import QueuedWriter
from keel.producers.tracing import traced_build
from keel.schemas import clients
from keel.schemas.access import check_authentication
from keel.schemas.catalog import JobCatalog
from keel.schemas.codec import JobCodec
from keel.schemas.headers import JOB_ID, header_value
from keel.schemas.job import Job
from keel.schemas.settings import ClusterSettings
from keel.schemas.tracing import TracerProvider


class Connection:
    """A producer and a registry client, prepared for every routed job type."""

    def __init__(
        self,
        cluster: ClusterSettings | None = None,
        settings: ProducerSettings | None = None,
        catalog: JobCatalog | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.cluster = cluster or ClusterSettings()
        self.settings = settings or ProducerSettings()
        config = self.settings.to_confluent()
        self.size_limit = int(config.get("message.max.bytes", DEFAULT_PRODUCER_LIMIT))
        self.delivery_timeout_s = self.settings.delivery_timeout_ms / 1000
        self._failures = _FailureLog()
        check_authentication(self.cluster)  # a wrong password fails here, not at each publish
        self.registry = clients.registry(self.cluster)
        try:
            codec = JobCodec(
                self.registry,
                catalog if catalog is not None else JobCatalog.learning(),
                auto_register=self.settings.auto_register_schemas,
            )
            self.records = RecordBuilder(codec, self.settings)
            self.records.prepare()
            # The record of a job: bound once, a frame less per job than a forwarding method
            # (a traced one only when a tracer provider is configured).
            self.build: Callable[[Job, Key | None], Record] = traced_build(
                self.records, tracer_provider
            )
        except BaseException:
            self.registry.close()
            raise
        # The default delivery callback must not refer back to this object: librdkafka's
        # producer would then hold its owner in a cycle, and outlive `close()`.
        open_timeout_s = self.settings.open_timeout_ms / 1000
        config, watch = watched({**config, "on_delivery": self._failures.record}, open_timeout_s)
        self.producer = clients.producer(self.cluster, config)
        self.queued = QueuedWriter(self.producer, self.settings.status)
        self.statuses = StatusReader(self.cluster, self.settings.status)
        try:
            wait_until_ready(self.producer, sorted(self.settings.topics()), open_timeout_s, watch)
        except BaseException:
            self.registry.close()
            raise

    def produce(self, record: Record, report: DeliveryReport | None = None) -> None:
        """Hand one record to librdkafka; `BufferError` means its queue is full, try again.

        Without a `report` of its own, the job's outcome goes to the failure log (librdkafka
        falls back to the producer's configured callback when the job's is None).
        """
        if record.tracked:
            self.queued.write(record)
        try:
            produce(self.producer, record, report)
        except KafkaException as error:
            raise self._refused(error.args[0], record) from error

    def reporter(self, record: Record, on_delivery: OnDelivery) -> DeliveryReport:
        """A librdkafka delivery callback that hands `on_delivery` the job's outcome."""
        return partial(_report, record.job_id, on_delivery)

    def take_failures(self) -> PublishError | None:
        """One error for every failure nobody was told about since the last call, or None."""
        return self._failures.take()

    def close(self, timeout: float | None = None) -> int:
        """Flush, then release the clients; returns how many jobs were still undelivered."""
        try:
            return int(self.producer.flush(-1 if timeout is None else timeout))
        finally:
            self.registry.close()

    def _refused(self, error: KafkaError, record: Record) -> PublishError:
        if error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
            return too_large_for_producer(len(record.value), self.size_limit, record.job_id)
        return delivery_error(error, record.job_id, len(record.value))


class _FailureLog:
    """Failures of jobs published without a callback of their own, until someone asks."""

    def __init__(self) -> None:
        self._failures: list[PublishError] = []

    def record(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            job_id = (header_value(message.headers(), JOB_ID) or b"").decode() or None
            self._failures.append(delivery_error(error, job_id, len(message.value() or b"")))

    def take(self) -> PublishError | None:
        failures, self._failures = self._failures, []
        if not failures:
            return None
        first = failures[0]
        return type(first)(f"{len(failures)} job(s) not delivered; first: {first}", first.job_id)


def _report(job_id: str, on_delivery: OnDelivery, error: KafkaError | None, msg: Message) -> None:
    on_delivery(outcome(error, msg, job_id))
