"""The `queued` status a publisher writes for a job of a tracked type, as it publishes it.

Written through the publisher's own producer just before the job, and never waited for: the
job's acknowledgement is what `publish` returns. A status that fails to arrive is logged, not
raised (the job itself was published); a lookup then finds nothing until a worker reaches the
job. Without the status topic the publisher says so once and writes no `queued`.
"""

import logging
import time

from confluent_kafka import KafkaError, Message, Producer

from keel.producers.records import Record
from keel.schemas.headers import JOB_TYPE
from keel.schemas.status.record import JobStatus, encode, partition_of
from keel.schemas.status.settings import StatusSettings

_LOG = logging.getLogger(__name__)
_METADATA_TIMEOUT_S = 10.0


class QueuedWriter:
    """Writes `queued` for the tracked jobs a publisher sends."""

    def __init__(self, producer: Producer, settings: StatusSettings) -> None:
        self._producer = producer
        self._topic = settings.topic
        self._partitions: int | None = None
        self._missing = False

    def write(self, record: Record) -> None:
        """Queue the `queued` status of `record`'s job (dropped if librdkafka's queue is full)."""
        partitions = self._partition_count()
        if partitions is None:
            return
        status = JobStatus(
            record.job_id, "queued", job_type=_job_type(record), at_ms=int(time.time() * 1000)
        )
        try:
            self._producer.produce(
                self._topic,
                encode(status),
                record.job_id.encode(),
                partition=partition_of(record.job_id, partitions),
                on_delivery=_report,
            )
        except BufferError:
            _LOG.warning("no room to queue the status of job %s; it is not written", record.job_id)

    def _partition_count(self) -> int | None:
        if self._partitions is None and not self._missing:
            found = self._producer.list_topics(self._topic, timeout=_METADATA_TIMEOUT_S)
            metadata = found.topics.get(self._topic)
            if metadata is None or metadata.error is not None or not metadata.partitions:
                self._missing = True
                _LOG.error(
                    "status topic %s does not exist (keel topics ensure --status): "
                    "no queued status is written",
                    self._topic,
                )
                return None
            self._partitions = len(metadata.partitions)
        return self._partitions


def _job_type(record: Record) -> str | None:
    for name, value in record.headers:
        if name == JOB_TYPE:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def _report(error: KafkaError | None, message: Message) -> None:
    if error is not None:
        _LOG.warning("queued status of job %r not written: %s", message.key(), error.str())
