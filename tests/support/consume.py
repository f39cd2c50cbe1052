"""Reading back what a test published, with a deadline instead of a fixed wait."""

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition


def read_records(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
    """The first `count` records of `topic`, or fewer if the deadline passes first."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    records: list[Message] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                records.append(message)
    finally:
        consumer.close()
    return records


def read_to_end(
    bootstrap: str, topic: str, partitions: int = 1, timeout: float = 30.0
) -> list[Message]:
    """Every committed record of `topic` below its end offsets as they stand now, by partition.

    Stops as soon as each partition is read up to that end offset (its high watermark), so a
    test neither waits a fixed time nor misses a record that is already there; fails naming what
    is missing when the deadline passes first (say, a transaction that stays open).
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
        }
    )
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1]
            for p in range(partitions)
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        return _read_until(consumer, ends, time.monotonic() + timeout)
    finally:
        consumer.close()


def _read_until(consumer: Consumer, ends: dict[int, int], deadline: float) -> list[Message]:
    records: list[Message] = []
    unread = set(ends)
    while unread:
        if time.monotonic() > deadline:
            raise AssertionError(f"partitions {sorted(unread)} not read up to {ends}")
        message = consumer.poll(0.2)
        if message is None:
            continue
        error = message.error()
        partition: int = message.partition()  # type: ignore[assignment]
        offset: int = message.offset()  # type: ignore[assignment]
        if error is None:
            if offset < ends[partition]:
                records.append(message)
        elif error.code() == KafkaError._PARTITION_EOF and offset >= ends[partition]:
            unread.discard(partition)
    return records


def record_count(bootstrap: str, topic: str, partitions: int = 1) -> int:
    """How many records `topic` holds, from its partitions' watermarks."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}"})
    try:
        total = 0
        for partition in range(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
            total += high - low
        return total
    finally:
        consumer.close()
