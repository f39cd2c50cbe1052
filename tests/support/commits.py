"""What a group has committed, read from the broker, and which records of a topic it covers.

A commit covers a record when a new owner would not run it: the record lies below the committed
offset, or it is one of the offsets finished above it that the commit metadata lists.
"""

import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from keel.consumers.pipeline.metadata import decode_metadata
from tests.support.cluster import Cluster
from tests.support.worker import read_all

NO_COMMIT = -1001  # librdkafka's OFFSET_INVALID: the group has committed nothing here


@dataclass(frozen=True)
class Commit:
    """One partition's committed offset and the offsets its metadata says finished above it."""

    offset: int
    finished_above: frozenset[int]

    def covers(self, offset: int) -> bool:
        return offset < self.offset or offset in self.finished_above


def commits(cluster: Cluster, group: str, topic: str, partitions: int) -> dict[int, Commit]:
    """The group's commit per partition, metadata decoded (offset `NO_COMMIT` when none)."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": group})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 30)
    finally:
        consumer.close()
    return {
        tp.partition: Commit(
            tp.offset,
            frozenset(decode_metadata(tp.offset, tp.metadata).finished if tp.offset >= 0 else ()),
        )
        for tp in found
    }


def positions_of_sample_jobs(
    cluster: Cluster, topic: str, count: int
) -> dict[tuple[str, int], tuple[int, int]]:
    """(partition, offset) of each `tests.support.sample.email(key, seq)` job on `topic`.

    A key's jobs were published in `seq` order to one partition, so the n-th record of a key,
    by offset, is its job with seq n.
    """
    by_key: dict[str, list[tuple[int, int]]] = {}
    for record in read_all(cluster, topic, count):
        assert record.key is not None
        key = str(uuid.UUID(record.key.decode()).int - 1)  # sample.email's key for this user
        by_key.setdefault(key, []).append((record.partition, record.offset))
    assert sum(map(len, by_key.values())) == count
    return {
        (key, seq): position
        for key, positions in by_key.items()
        for seq, position in enumerate(sorted(positions, key=lambda p: p[1]))
    }
