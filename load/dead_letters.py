"""Reading a dead-letter topic to the end, to check the oracle's dead-letter completeness."""

import time

from confluent_kafka import Consumer, TopicPartition

from consumers.pipeline.dead_letter import ORIGIN_OFFSET, ORIGIN_PARTITION
from load.oracle import DeadLetter

_POLL_S = 0.5


def read_dead_letters(
    bootstrap_servers: str, topic: str, timeout_s: float = 30.0
) -> list[DeadLetter]:
    """Every record on `topic` now, identified by the origin its headers name."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": "keel-load-dlt-reader",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        partitions = [TopicPartition(topic, p, 0) for p in metadata.partitions]
        ends = {
            tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions
        }
        consumer.assign(partitions)
        return _read_until(consumer, ends, time.monotonic() + timeout_s)
    finally:
        consumer.close()


def _read_until(consumer: Consumer, ends: dict[int, int], deadline: float) -> list[DeadLetter]:
    found: list[DeadLetter] = []
    positions = dict.fromkeys(ends, 0)
    while any(positions[p] < end for p, end in ends.items()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"dead-letter topic not read to its end: at {positions} of {ends}")
        message = consumer.poll(_POLL_S)
        if message is None or message.error() is not None:
            continue
        positions[message.partition() or 0] = (message.offset() or 0) + 1
        headers = _text_headers(message.headers() or [])
        found.append(DeadLetter(int(headers[ORIGIN_PARTITION]), int(headers[ORIGIN_OFFSET])))
    return found


Headers = dict[str, str | bytes | None] | list[tuple[str, str | bytes | None]]


def _text_headers(headers: Headers) -> dict[str, str]:
    pairs = headers.items() if isinstance(headers, dict) else headers
    return {
        name: value.decode() if isinstance(value, bytes) else value
        for name, value in pairs
        if value is not None
    }
