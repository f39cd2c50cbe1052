"""Reading a job's status back by id, without reading the whole status topic.

Every status of a job is on one partition (`partition_of`), and a job's id holds its creation time,
before which nothing about it was written: `offsets_for_times` finds the first record of that
partition written from `lookback_ms` before that time, and the lookup reads forward from there, to
the partition's end (`status`) or until the job ends (`wait`), taking the job's status from the
records that hold one: its own, keyed by its id, or a worker's batch (`record.find`). The later
record wins (`record.latest`). Each call opens a consumer of its own (assigned, never in a group,
never committing), so a reader serves threads and event loops at once; it needs only the cluster.
"""

import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from keel.schemas import clients
from keel.schemas.settings import ClusterSettings
from keel.schemas.status.record import (
    JobStatus,
    Unknown,
    created_ms,
    find,
    is_job_id,
    latest,
    partition_of,
    seek_time_ms,
    unknown,
)
from keel.schemas.status.settings import StatusSettings

# librdkafka wants a group id even for a consumer that only assigns; this one never joins.
READER_GROUP = "keel.status.reader"
_METADATA_TIMEOUT_S = 10.0
_POLL_S = 0.2
_CONFIG = {
    "enable.auto.commit": False,
    "enable.partition.eof": True,
    "auto.offset.reset": "earliest",
}
Stop = Callable[[JobStatus | None], bool]


class StatusReader:
    """Looks up job statuses on one cluster: `status(job_id)`, `wait(job_id, timeout)`."""

    def __init__(self, cluster: ClusterSettings, settings: StatusSettings | None = None) -> None:
        self._cluster = cluster
        self.settings = settings or StatusSettings()
        self._partitions: int | None = None

    def status(self, job_id: str, timeout: float = 30.0) -> JobStatus:
        """The job's latest status; `unknown` (with why) when none is found."""
        if not is_job_id(job_id):
            return unknown(job_id, "not_a_job_id")
        found = self._read(job_id, time.monotonic() + timeout, follow=False)
        return found or unknown(job_id, self._why_missing(job_id))

    def wait(self, job_id: str, timeout: float) -> JobStatus:
        """The job's status once it is final, or the latest at `timeout` (maybe not final)."""
        if not is_job_id(job_id):
            return unknown(job_id, "not_a_job_id")
        found = self._read(job_id, time.monotonic() + timeout, follow=True)
        return found or unknown(job_id, self._why_missing(job_id))

    def _why_missing(self, job_id: str) -> Unknown:
        created = created_ms(job_id)
        now_ms = int(time.time() * 1000)
        if created is not None and now_ms - created > self.settings.retention_ms:
            return "past_retention"
        return "not_found"

    def _read(self, job_id: str, deadline: float, *, follow: bool) -> JobStatus | None:
        consumer = clients.consumer(self._cluster, READER_GROUP, _CONFIG)
        try:
            start = self._start(consumer, job_id, deadline, follow=follow)
            if start is None:
                return None
            consumer.assign([start])
            return _scan(consumer, job_id, deadline, follow=follow)
        finally:
            consumer.close()

    def _start(
        self, consumer: Consumer, job_id: str, deadline: float, *, follow: bool
    ) -> TopicPartition | None:
        """Where to read from; None when the partition holds nothing from the job's time on."""
        topic = self.settings.topic
        partition = partition_of(job_id, self._partition_count(consumer))
        at = seek_time_ms(job_id, self.settings.lookback_ms)
        found = _offset_for_time(consumer, TopicPartition(topic, partition, at), deadline)
        if found.offset >= 0:
            return TopicPartition(topic, partition, found.offset)
        if not follow:
            return None
        _low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=_METADATA_TIMEOUT_S
        )
        return TopicPartition(topic, partition, high)

    def _partition_count(self, consumer: Consumer) -> int:
        if self._partitions is None:
            topic = self.settings.topic
            metadata = consumer.list_topics(topic, timeout=_METADATA_TIMEOUT_S).topics.get(topic)
            if metadata is None or metadata.error is not None or not metadata.partitions:
                raise KafkaException(
                    KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, f"no status topic {topic}")
                )
            self._partitions = len(metadata.partitions)
        return self._partitions


# What a partition answers while its leader is being elected, just after the topic was made.
_NOT_READY = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    }
)


def _offset_for_time(consumer: Consumer, wanted: TopicPartition, deadline: float) -> TopicPartition:
    """The first offset at or after `wanted`'s time (-1: none), asked again while the broker
    cannot answer yet (a partition without a leader, just after the topic was created)."""
    while True:
        try:
            found = consumer.offsets_for_times([wanted], timeout=_METADATA_TIMEOUT_S)[0]
        except KafkaException as raised:  # librdkafka raises some of the same errors at once
            error: KafkaError = raised.args[0]
            if not error.retriable() and error.code() not in _NOT_READY:
                raise
        else:
            if found.error is None:
                return found
            error = found.error
        if time.monotonic() > deadline:
            raise KafkaException(error)
        time.sleep(_POLL_S)


def _scan(consumer: Consumer, job_id: str, deadline: float, *, follow: bool) -> JobStatus | None:
    """Read the assigned partition: to its end, or (`follow`) until the job ends or deadline."""
    status: JobStatus | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        message = consumer.poll(min(remaining, _POLL_S))
        if message is None:
            continue
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(error)
            if not follow:
                return status
            continue
        found = find(message.key(), message.value(), job_id)
        if found is not None:
            status = latest(status, found)
            if follow and status is not None and status.final:
                return status
    return status
