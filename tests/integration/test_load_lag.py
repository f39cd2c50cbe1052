from collections.abc import Callable

from confluent_kafka import Consumer, Producer, TopicPartition

from keel.load.lag import LagProbe
from tests.support.cluster import Cluster
from tests.support.topics import unique_name


def test_lag_is_what_the_group_has_not_committed(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("lag", partitions=2)
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers})
    for n in range(10):
        producer.produce(topic, value=b"x", partition=n % 2)
    assert producer.flush(30) == 0
    group = unique_name("lag")
    probe = LagProbe(cluster.settings(), group, topic, partitions=2)

    before = probe.lag()
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": group})
    try:
        consumer.commit(
            offsets=[TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 1)], asynchronous=False
        )
    finally:
        consumer.close()

    after = probe.lag()
    probe.close()

    assert before == 10
    assert after == 10 - 3 - 1
