"""`publish_many` against the real broker: every job lands once, or none is sent."""

import asyncio
from collections.abc import Callable

import pytest

from keel.producers import (
    AsyncPublisher,
    MissingKeyError,
    ProducerSettings,
    Publisher,
    PublishTimeoutError,
    Route,
)
from keel.schemas.settings import ClusterSettings
from tests.support import jobs
from tests.support.cluster import Cluster
from tests.support.consume import read_records, record_count

NewTopic = Callable[..., str]


def _settings(topic: str, **overrides: object) -> ProducerSettings:
    routes = {"keel.jobs.SendEmail": Route(topic=topic, partitions=3)}
    return ProducerSettings(routes=routes, **overrides)  # type: ignore[arg-type]


def test_publish_many_returns_each_jobs_place_in_order(
    cluster: Cluster, new_topic: NewTopic
) -> None:
    topic = new_topic("many", partitions=3)
    batch = [(jobs.send_email(), f"user-{n % 7}") for n in range(50)]

    with Publisher(cluster.settings(), _settings(topic)) as publisher:
        deliveries = publisher.publish_many(batch)

    # Then one delivery per job, in the order given, each where the broker holds it
    assert len(deliveries) == 50
    assert len({d.job_id for d in deliveries}) == 50
    records = read_records(cluster.bootstrap_servers, topic, 50)
    stored = {(r.partition(), r.offset()) for r in records}
    assert {(d.partition, d.offset) for d in deliveries} == stored
    assert record_count(cluster.bootstrap_servers, topic, partitions=3) == 50


def test_async_publish_many_lands_every_job(cluster: Cluster, new_topic: NewTopic) -> None:
    topic = new_topic("many", partitions=3)

    async def publish() -> list[str]:
        async with AsyncPublisher(cluster.settings(), _settings(topic)) as publisher:
            batch = [(jobs.send_email(), f"user-{n}") for n in range(30)]
            return [d.job_id for d in await publisher.publish_many(batch)]

    ids = asyncio.run(publish())

    assert len(set(ids)) == 30
    assert record_count(cluster.bootstrap_servers, topic, partitions=3) == 30


def test_a_job_that_cannot_be_published_sends_none_of_the_batch(
    cluster: Cluster, new_topic: NewTopic
) -> None:
    topic = new_topic("many")
    # SendEmail is ordered: the third job, without a key, is refused before any is queued
    batch = [(jobs.send_email(), "a"), (jobs.send_email(), "b"), (jobs.send_email(), None)]

    with Publisher(cluster.settings(), _settings(topic)) as publisher:
        with pytest.raises(MissingKeyError):
            publisher.publish_many(batch)
        publisher.flush(30)

    assert record_count(cluster.bootstrap_servers, topic) == 0


def test_undelivered_jobs_of_a_batch_are_counted_in_one_error(cluster: Cluster) -> None:
    unreachable = ClusterSettings(
        kafka_bootstrap_servers="127.0.0.1:9", schema_registry_url=cluster.registry_url
    )
    settings = _settings("jobs.email", delivery_timeout_ms=1500, open_timeout_ms=0)
    publisher = Publisher(unreachable, settings)

    with pytest.raises(PublishTimeoutError, match=r"3 of 3 job\(s\) not delivered"):
        publisher.publish_many([(jobs.send_email(), "k") for _ in range(3)])
    publisher.close(5)
