"""Opening a publisher against the real broker: it returns warm, or fails fast and clearly."""

import asyncio
import time
from collections.abc import Callable

import pytest

from keel.producers import (
    AsyncPublisher,
    BrokerUnavailableError,
    Delivery,
    ProducerSettings,
    Publisher,
    Route,
)
from keel.producers.readiness import wait_until_ready, watched
from keel.schemas import clients
from keel.schemas.demo import demo_catalog
from keel.schemas.settings import ClusterSettings
from tests.support import jobs
from tests.support.cluster import Cluster

NewTopic = Callable[..., str]


def _settings(topic: str, **overrides: object) -> ProducerSettings:
    routes = {"keel.jobs.SendEmail": Route(topic=topic, partitions=3)}
    return ProducerSettings(routes=routes, **overrides)  # type: ignore[arg-type]


def _unreachable(cluster: Cluster) -> ClusterSettings:
    return ClusterSettings(
        kafka_bootstrap_servers="127.0.0.1:9", schema_registry_url=cluster.registry_url
    )


def test_opening_waits_for_the_producer_id_and_the_topic_leaders(
    cluster: Cluster, new_topic: NewTopic
) -> None:
    # Given a producer configured as a publisher's, on a topic created a moment ago
    topic = new_topic("open", partitions=3)
    config, watch = watched(_settings(topic).to_confluent(), 30.0)
    assert watch is not None
    producer = clients.producer(cluster.settings(), config)

    # When opening waits for it
    wait_until_ready(producer, [topic], 30.0, watch)

    # Then the producer id is assigned and every partition has a leader in the client's cache
    assert watch.assigned.is_set()
    partitions = producer.list_topics(topic, timeout=10).topics[topic].partitions
    assert sorted(partitions) == [0, 1, 2]
    assert all(p.leader >= 0 for p in partitions.values())


def test_a_publisher_opened_warm_publishes(cluster: Cluster, new_topic: NewTopic) -> None:
    topic = new_topic("open", partitions=3)

    with Publisher(cluster.settings(), _settings(topic), demo_catalog()) as publisher:
        delivery = publisher.publish(jobs.send_email(), key="k")

    assert isinstance(delivery, Delivery)
    assert delivery.topic == topic


def test_an_unreachable_broker_fails_opening_within_the_bound(cluster: Cluster) -> None:
    started = time.monotonic()

    with pytest.raises(
        BrokerUnavailableError, match=r"within 2 s; is KAFKA_BOOTSTRAP_SERVERS right"
    ):
        Publisher(_unreachable(cluster), _settings("jobs.email", open_timeout_ms=2000))

    assert time.monotonic() - started < 15


def test_an_unreachable_broker_fails_async_opening_within_the_bound(cluster: Cluster) -> None:
    publisher = AsyncPublisher(_unreachable(cluster), _settings("jobs.email", open_timeout_ms=2000))

    async def open_it() -> None:
        await asyncio.wait_for(publisher.open(), 15)

    with pytest.raises(BrokerUnavailableError, match="could not open"):
        asyncio.run(open_it())
