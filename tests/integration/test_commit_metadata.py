"""Commit metadata survives the broker: what a new owner of a partition reads back."""

from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition

from keel.consumers.pipeline.offsets import METADATA_LIMIT, decode_finished, encode_finished
from tests.support.cluster import Cluster


def test_finished_above_offsets_survive_a_commit_and_read_back(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("metadata", partitions=1)
    finished = list(range(105, 5000, 3))
    metadata = encode_finished(100, finished)
    assert len(metadata) <= METADATA_LIMIT
    config = {"bootstrap.servers": cluster.bootstrap_servers, "group.id": f"meta-{topic}"}
    writer = Consumer(config)
    try:
        writer.commit(offsets=[TopicPartition(topic, 0, 100, metadata)], asynchronous=False)
    finally:
        writer.close()
    reader = Consumer(config)
    try:
        [back] = reader.committed([TopicPartition(topic, 0)], timeout=30)
    finally:
        reader.close()
    assert back.offset == 100
    assert (
        decode_finished(back.offset, back.metadata)
        == finished[: len(decode_finished(100, metadata))]
    )
