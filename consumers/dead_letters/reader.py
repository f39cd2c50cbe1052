"""Reading a dead-letter topic as a stream: one record at a time, in bounded memory.

A dead-letter topic can hold millions of records. The tools never hold them: `stream_letters`
reads one partition after the other, in offset order, up to where each partition ended when
reading began, and yields each record as a `Letter` as it arrives; librdkafka's prefetch queue
is kept small (`PREFETCH_KBYTES`), so a reader's memory does not grow with the topic.
`read_letter` fetches one record by its partition and offset without reading anything else.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from keel.consumers.dead_letters.headers import header_map
from keel.consumers.pipeline.records import Header
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings

_LOG = logging.getLogger(__name__)

# What librdkafka may fetch ahead of the reader, per partition it reads (its default, 64 MiB,
# would hold a small topic whole).
PREFETCH_KBYTES = 4096
POLL_BATCH = 500
_NO_LEADER_YET = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    }
)


@dataclass(frozen=True)
class Letter:
    """One record of a dead-letter topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    raw_headers: tuple[Header, ...]

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def headers(self) -> dict[str, str]:
        return header_map(self.raw_headers)

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


def stream_letters(
    cluster: ClusterSettings, topic: str, *, timeout: float = 30.0, read_committed: bool = False
) -> Iterator[Letter]:
    """Every record of `topic` up to its end when reading began, partition by partition.

    A partition that yields nothing new for `timeout` seconds is left where it is (with a
    warning); a topic that does not exist yields nothing.
    """
    with _reader(cluster, read_committed) as consumer:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return
        for partition in sorted(metadata.partitions):
            yield from _partition(consumer, TopicPartition(topic, partition), timeout)


def read_letter(
    cluster: ClusterSettings, topic: str, partition: int, offset: int, timeout: float = 30.0
) -> Letter | None:
    """The record at `partition`:`offset` of `topic`, or None if there is none."""
    with _reader(cluster, read_committed=False) as consumer:
        low, high = _watermarks(consumer, TopicPartition(topic, partition), timeout)
        if not low <= offset < high:
            return None
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            found = message.offset() or 0
            if found == offset:
                return _letter(topic, message)
            if found > offset:  # compacted away, or a transaction marker
                return None
        return None


def records_in(cluster: ClusterSettings, topic: str, timeout: float = 30.0) -> int:
    """How many records `topic` holds (an upper bound: compaction and markers leave gaps)."""
    with _reader(cluster, read_committed=False) as consumer:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return 0
        spans = (
            _watermarks(consumer, TopicPartition(topic, p), timeout) for p in metadata.partitions
        )
        return sum(high - low for low, high in spans)


def _partition(consumer: Consumer, tp: TopicPartition, timeout: float) -> Iterator[Letter]:
    low, end = _watermarks(consumer, tp, timeout)
    if end <= low:
        return
    consumer.assign([TopicPartition(tp.topic, tp.partition, low)])
    try:
        last_progress = time.monotonic()
        while _position(consumer, tp) < end:
            messages = consumer.consume(POLL_BATCH, 0.2)
            for message in messages:
                if message.error() is None and (message.offset() or 0) < end:
                    yield _letter(tp.topic, message)
            if messages:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > timeout:
                _LOG.warning(
                    "%s/%d: nothing read for %.0f s; left", tp.topic, tp.partition, timeout
                )
                return
    finally:
        consumer.unassign()


def _letter(topic: str, message: Any) -> Letter:  # noqa: ANN401 - a confluent_kafka Message
    return Letter(
        topic,
        message.partition(),
        message.offset(),
        message.key(),
        message.value(),
        tuple(message.headers() or ()),
    )


@contextmanager
def _reader(cluster: ClusterSettings, read_committed: bool) -> Iterator[Consumer]:
    """A consumer that never joins a group or commits: partitions are assigned to it."""
    consumer = clients.consumer(
        cluster,
        "keel-dlt-tools",
        {
            "enable.auto.commit": False,
            "isolation.level": "read_committed" if read_committed else "read_uncommitted",
            "queued.max.messages.kbytes": PREFETCH_KBYTES,
        },
    )
    try:
        yield consumer
    finally:
        consumer.close()


def _watermarks(consumer: Consumer, tp: TopicPartition, timeout: float) -> tuple[int, int]:
    """The partition's first and end offsets, asked again while a topic created moments ago
    (the replay ledger, on a first replay) has no leader yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            left = max(deadline - time.monotonic(), 0.1)
            low, high = consumer.get_watermark_offsets(tp, left)
            return int(low), int(high)
        except KafkaException as error:
            if error.args[0].code() not in _NO_LEADER_YET or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def _position(consumer: Consumer, tp: TopicPartition) -> int:
    [found] = consumer.position([TopicPartition(tp.topic, tp.partition)])
    return int(found.offset)
