"""Dead-letter topics filled directly, the way a worker would have written them."""

import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from keel.schemas.headers import (
    DLT_ATTEMPTS,
    DLT_ERROR_CLASS,
    DLT_JOB_TYPE,
    DLT_LAST_FAILURE,
    DLT_ORIGIN_TOPIC,
    DLT_REASON,
)
from tests.support.cluster import Cluster
from tests.support.topics import create_topic, unique_name

ERROR_CLASSES = ("builtins.OSError", "builtins.ValueError")  # even and odd letters


def dead_letter_topic_of(admin: AdminClient, prefix: str, partitions: int) -> tuple[str, str]:
    """A new job topic and its dead-letter topic `T.dlt`."""
    topic = create_topic(admin, unique_name(prefix), partitions)
    return topic, create_topic(admin, f"{topic}.dlt", partitions)


def write_dead_letters(cluster: Cluster, dead_letters: str, origin: str, count: int) -> None:
    """`count` small dead letters of `origin`, keys spread over the partitions."""
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "linger.ms": 20})
    now = str(int(time.time() * 1000)).encode()
    for n in range(count):
        headers: list[tuple[str, str | bytes | None]] = [
            (DLT_ORIGIN_TOPIC, origin.encode()),
            (DLT_JOB_TYPE, b"keel.jobs.SendEmail"),
            (DLT_REASON, b"fatal-error"),
            (DLT_ERROR_CLASS, ERROR_CLASSES[n % 2].encode()),
            (DLT_ATTEMPTS, b"3"),
            (DLT_LAST_FAILURE, now),
        ]
        while True:
            try:
                key, value = f"job-{n}".encode(), str(n).encode()
                producer.produce(dead_letters, value, key, headers=headers)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0
