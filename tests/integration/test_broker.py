"""The session's broker really stores and serves records."""

from collections.abc import Callable

from confluent_kafka import Consumer, Producer

from tests.support.cluster import Cluster
from tests.support.topics import unique_name


def test_keyed_records_round_trip_in_order(cluster: Cluster, new_topic: Callable[..., str]) -> None:
    topic = new_topic("roundtrip")
    sent = [(f"key-{i % 3}".encode(), f"value-{i}".encode()) for i in range(30)]
    producer = Producer(
        {"bootstrap.servers": cluster.bootstrap_servers, "enable.idempotence": True, "acks": "all"}
    )
    for key, value in sent:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap_servers,
            "group.id": unique_name("roundtrip"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: list[tuple[bytes | None, bytes | None]] = []
    try:
        while len(received) < len(sent):
            message = consumer.poll(10)
            assert message is not None, f"timed out after {len(received)} records"
            assert message.error() is None, message.error()
            received.append((message.key(), message.value()))
    finally:
        consumer.close()

    assert received == sent
