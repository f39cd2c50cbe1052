"""Publishing against the real broker and registry: what lands, and every way it can fail."""

import asyncio
import os
import time
from collections.abc import Callable
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from opentelemetry.sdk.trace import TracerProvider

from keel.producers import (
    AsyncPublisher,
    Delivery,
    MessageTooLargeError,
    MissingKeyError,
    NoRouteError,
    ProducerSettings,
    Publisher,
    PublishError,
    PublishTimeoutError,
    Route,
)
from keel.schemas.codec import JobCodec
from keel.schemas.demo import SendEmail, demo_catalog
from keel.schemas.errors import EncodeError, RegistryUnavailableError
from keel.schemas.headers import JobHeaders
from keel.schemas.settings import ClusterSettings
from tests.support import jobs
from tests.support.cluster import Cluster
from tests.support.consume import read_records, record_count
from tests.support.proxy import forwarding

NewTopic = Callable[..., str]


def _settings(topic: str, **overrides: object) -> ProducerSettings:
    routes = {
        "keel.jobs.SendEmail": Route(topic=topic, partitions=3),
        "keel.jobs.GenerateReport": Route(topic=topic, partitions=3),
    }
    return ProducerSettings(routes=routes, **overrides)  # type: ignore[arg-type]


def _unreachable_broker(cluster: Cluster) -> ClusterSettings:
    return ClusterSettings(
        kafka_bootstrap_servers="127.0.0.1:9", schema_registry_url=cluster.registry_url
    )


def test_publish_returns_where_the_broker_stored_the_job(
    cluster: Cluster, new_topic: NewTopic
) -> None:
    topic = new_topic("email", partitions=3)
    job = jobs.send_email()
    before_ms = time.time_ns() // 1_000_000

    with Publisher(cluster.settings(), _settings(topic)) as publisher:
        delivery = publisher.publish(job, key=job.user_id)

    assert (delivery.topic, delivery.offset) == (topic, 0)
    [record] = read_records(cluster.bootstrap_servers, topic, 1)
    assert (record.partition(), record.offset()) == (delivery.partition, delivery.offset)
    assert record.key() == str(job.user_id).encode()
    headers = JobHeaders.decode(record.headers())
    assert (headers.job_id, headers.job_type, headers.attempt) == (
        delivery.job_id,
        "keel.jobs.SendEmail",
        1,
    )
    assert before_ms <= headers.created_at_ms <= time.time_ns() // 1_000_000
    assert headers.traceparent is None
    with SchemaRegistryClient({"url": cluster.registry_url}) as client:
        assert JobCodec(client, demo_catalog()).decode(record.value()) == job


def test_ordered_job_without_key_is_refused_before_sending(
    cluster: Cluster, new_topic: NewTopic
) -> None:
    topic = new_topic("email")

    with Publisher(cluster.settings(), _settings(topic)) as publisher:
        with pytest.raises(MissingKeyError, match="ordered"):
            publisher.publish(jobs.send_email())
        with pytest.raises(MissingKeyError):
            publisher.publish_nowait(jobs.send_email())

    assert record_count(cluster.bootstrap_servers, topic) == 0


def test_unordered_job_may_omit_the_key(cluster: Cluster, new_topic: NewTopic) -> None:
    topic = new_topic("reports")

    with Publisher(cluster.settings(), _settings(topic)) as publisher:
        delivery = publisher.publish(jobs.generate_report())

    [record] = read_records(cluster.bootstrap_servers, topic, 1)
    assert record.key() is None
    assert record.offset() == delivery.offset


def test_job_type_without_route_is_refused(cluster: Cluster, new_topic: NewTopic) -> None:
    with (
        Publisher(cluster.settings(), _settings(new_topic("email"))) as publisher,
        pytest.raises(NoRouteError, match="ProcessPayment"),
    ):
        publisher.publish(jobs.process_payment(), key="order-42")


def test_job_that_skipped_validation_is_refused_before_sending(
    cluster: Cluster, new_topic: NewTopic
) -> None:
    topic = new_topic("email")
    unvalidated = SendEmail.model_construct(user_id=uuid4(), to="a@b.c", template=7)  # type: ignore[arg-type]

    with (
        Publisher(cluster.settings(), _settings(topic)) as publisher,
        pytest.raises(EncodeError, match="SendEmail"),
    ):
        publisher.publish(unvalidated, key="k")

    assert record_count(cluster.bootstrap_servers, topic) == 0


def test_traceparent_of_the_active_span_travels_with_the_job(
    cluster: Cluster, new_topic: NewTopic
) -> None:
    topic = new_topic("reports")
    tracer = TracerProvider().get_tracer("test")

    with (
        Publisher(cluster.settings(), _settings(topic)) as publisher,
        tracer.start_as_current_span("create-user") as span,
    ):
        publisher.publish(jobs.generate_report())
        context = span.get_span_context()

    [record] = read_records(cluster.bootstrap_servers, topic, 1)
    expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert JobHeaders.decode(record.headers()).traceparent == expected


def test_bulk_publish_keeps_per_key_order(cluster: Cluster, new_topic: NewTopic) -> None:
    # Given 300 jobs over 5 users, published without waiting
    topic = new_topic("email", partitions=3)
    users = [uuid4() for _ in range(5)]
    outcomes: list[Delivery | PublishError] = []
    sent: list[tuple[str, str]] = []
    with Publisher(cluster.settings(), _settings(topic)) as publisher:
        for n in range(300):
            user = users[n % 5]
            job = SendEmail(user_id=user, to="a@b.c", template=f"t{n}")
            sent.append((str(user), publisher.publish_nowait(job, user, outcomes.append)))
        # When flushed
        assert publisher.flush(30) == 0

    # Then every job was acknowledged, and each user's jobs are in publish order
    deliveries = {o.job_id: o for o in outcomes if isinstance(o, Delivery)}
    assert len(deliveries) == 300
    for user in users:
        mine = [deliveries[job_id] for key, job_id in sent if key == str(user)]
        assert len({d.partition for d in mine}) == 1
        assert [d.offset for d in mine] == sorted(d.offset for d in mine)


def test_full_producer_queue_waits_for_room_and_loses_nothing(
    cluster: Cluster, new_topic: NewTopic
) -> None:
    # Given a producer whose local queue holds only 5 jobs
    topic = new_topic("email", partitions=3)
    settings = _settings(topic, librdkafka={"queue.buffering.max.messages": 5})
    outcomes: list[Delivery | PublishError] = []
    with Publisher(cluster.settings(), settings) as publisher:
        # When 200 jobs are published without waiting, far more than the queue holds
        ids = [
            publisher.publish_nowait(jobs.send_email(), uuid4(), outcomes.append)
            for _ in range(200)
        ]
        assert publisher.flush(30) == 0

    # Then each was queued once room was made, and acknowledged
    assert sorted(o.job_id for o in outcomes if isinstance(o, Delivery)) == sorted(ids)
    assert record_count(cluster.bootstrap_servers, topic, partitions=3) == 200


def test_broker_unreachable_fails_after_the_delivery_timeout(cluster: Cluster) -> None:
    # Opened without waiting for the broker (opening's own wait: test_publisher_open.py)
    settings = _settings("jobs.email", delivery_timeout_ms=1500, open_timeout_ms=0)
    started = time.monotonic()

    publisher = Publisher(_unreachable_broker(cluster), settings)
    with pytest.raises(PublishTimeoutError, match=r"delivery\.timeout\.ms"):
        publisher.publish(jobs.send_email(), key="k")
    # And a job published without waiting is not dropped silently either
    publisher.publish_nowait(jobs.send_email(), key="k")
    with pytest.raises(PublishTimeoutError, match=r"1 job\(s\) not delivered"):
        publisher.close()

    assert time.monotonic() - started < 15


def test_async_publish_never_hangs_on_an_unreachable_broker(cluster: Cluster) -> None:
    settings = _settings("jobs.email", delivery_timeout_ms=1500, open_timeout_ms=0)

    async def publish() -> None:
        publisher = await AsyncPublisher(_unreachable_broker(cluster), settings).open()
        try:
            with pytest.raises(PublishTimeoutError):
                await asyncio.wait_for(publisher.publish(jobs.send_email(), key="k"), 15)
        finally:
            await publisher.close()

    asyncio.run(publish())


def test_job_over_the_producer_limit_names_the_limit(cluster: Cluster, new_topic: NewTopic) -> None:
    topic = new_topic("email")
    huge = SendEmail(user_id=uuid4(), to="a@b.c", template="t", params={"x": "y" * 1_200_000})

    with (
        Publisher(cluster.settings(), _settings(topic)) as publisher,
        pytest.raises(MessageTooLargeError, match=r"message\.max\.bytes=1000000"),
    ):
        publisher.publish(huge, key="k")

    assert record_count(cluster.bootstrap_servers, topic) == 0


def test_job_over_the_broker_limit_names_the_limit(cluster: Cluster, new_topic: NewTopic) -> None:
    # Given a producer allowed 8 MB, and a job of ~3 MB that lz4 cannot shrink under 1 MB
    topic = new_topic("email")
    settings = _settings(topic, librdkafka={"message.max.bytes": 8_000_000})
    noise = os.urandom(1_500_000).hex()
    huge = SendEmail(user_id=uuid4(), to="a@b.c", template="t", params={"x": noise})

    with (
        Publisher(cluster.settings(), settings) as publisher,
        pytest.raises(MessageTooLargeError, match=r"max\.message\.bytes"),
    ):
        publisher.publish(huge, key="k")


def test_registry_unreachable_at_start_is_a_clear_error(cluster: Cluster) -> None:
    # A publisher given its catalog resolves every routed type's schema id when it opens
    down = ClusterSettings(
        kafka_bootstrap_servers=cluster.bootstrap_servers,
        schema_registry_url="http://127.0.0.1:9/apis/ccompat/v7",
    )

    with pytest.raises(RegistryUnavailableError, match="did not answer"):
        Publisher(down, _settings("jobs.email"), demo_catalog())


def test_publishing_goes_on_once_schemas_are_cached(cluster: Cluster, new_topic: NewTopic) -> None:
    # Given a publisher of the demo catalog that opened through a registry link we can cut
    topic = new_topic("email")
    registry = urlsplit(cluster.registry_url)
    assert registry.hostname is not None
    assert registry.port is not None
    with forwarding((registry.hostname, registry.port)) as link:
        via_link = ClusterSettings(
            kafka_bootstrap_servers=cluster.bootstrap_servers,
            schema_registry_url=cluster.registry_url.replace(f":{registry.port}", f":{link.port}"),
        )
        publisher = Publisher(via_link, _settings(topic), demo_catalog())
        # When the registry becomes unreachable
        link.cut()
        # Then publishing still works from the cached schema ids
        try:
            publisher.publish(jobs.send_email(), key="k")
            publisher.publish(jobs.generate_report())
        finally:
            publisher.close()

    assert record_count(cluster.bootstrap_servers, topic) == 2


def test_async_publisher_publishes_and_flushes(cluster: Cluster, new_topic: NewTopic) -> None:
    topic = new_topic("email", partitions=3)
    outcomes: list[Delivery | PublishError] = []

    async def publish() -> Delivery:
        async with AsyncPublisher(cluster.settings(), _settings(topic)) as publisher:
            delivery = await publisher.publish(jobs.send_email(), key="user-1")
            for _ in range(20):
                await publisher.publish_nowait(jobs.generate_report(), None, outcomes.append)
            assert await publisher.flush(30) == 0
            return delivery

    delivery = asyncio.run(publish())

    assert delivery.topic == topic
    assert len([o for o in outcomes if isinstance(o, Delivery)]) == 20
    assert record_count(cluster.bootstrap_servers, topic, partitions=3) == 21


def test_aioproducer_still_refuses_headers() -> None:
    # Why AsyncPublisher wraps the plain Producer: if this starts failing, confluent-kafka's
    # AIOProducer carries headers now and AsyncPublisher can be built on it.
    from confluent_kafka.aio import AIOProducer  # noqa: PLC0415

    async def produce_with_headers() -> None:
        producer = AIOProducer({"bootstrap.servers": "127.0.0.1:9"}, buffer_timeout=0)
        try:
            await producer.produce("t", b"v", headers=[("keel-job-id", b"1")])
        finally:
            await producer.close()

    with pytest.raises(NotImplementedError, match="Headers are not supported"):
        asyncio.run(produce_with_headers())
