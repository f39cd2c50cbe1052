"""Expiring jobs against the real broker: published with `expires=`, set aside unstarted."""

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from keel.consumers import App, Context
from keel.producers import AsyncPublisher, ExpiryError, ProducerSettings, Publisher, Route
from keel.schemas.demo import SendEmail
from keel.schemas.headers import DLT_ATTEMPTS, DLT_REASON, EXPIRES_AT, JOB_ID
from keel.schemas.topics import dead_letter_topic
from tests.support.cluster import Cluster
from tests.support.consume import record_count
from tests.support.sample import email, seq_of
from tests.support.worker import committed, read_all, running, wait_for, worker_settings

SHORT = 1.0  # seconds: an expiry that passes before the worker starts
JOB_TYPE = "keel.jobs.SendEmail"


def routes(topic: str) -> ProducerSettings:
    return ProducerSettings(routes={JOB_TYPE: Route(topic=topic, partitions=1)})


async def until_past(expires_at_ms: int) -> None:
    """Wait until the wall clock is past an expiry (the worker reads the same clock)."""
    await wait_for(lambda: time.time() * 1000 > expires_at_ms + 50, 30, "the expiry to pass")


def expiry_of(headers: dict[str, str]) -> int:
    return int(headers[EXPIRES_AT])


async def test_an_expired_job_lands_in_the_dead_letter_topic_and_its_handler_never_ran(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given three jobs of one key: the first expires at once, the second in an hour, the third
    # never; all published before any worker runs
    topic = new_topic("expiry-dlt", partitions=1)
    (first, key), (second, _), (third, _) = email(1, 0), email(1, 1), email(1, 2)
    with Publisher(cluster.settings(), routes(topic)) as publisher:
        expired_id = publisher.publish(first, key=key, expires=SHORT).job_id
        publisher.publish(second, key=key, expires=timedelta(hours=1))
        publisher.publish(third, key=key)
    expires_ms = int(time.time() * 1000 + SHORT * 1000)  # no earlier than the stamped one
    await until_past(expires_ms)
    app = App(f"expiry-dlt-{topic}")
    handled: list[int] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        handled.append(seq_of(job)[1])

    # When a worker (keys quarantined behind dead letters, the default) consumes them
    async with running(app, worker_settings(cluster, [topic])):
        await wait_for(lambda: committed(cluster, app.name, topic, 1) == {0: 3}, 60, "commit")

    # Then the expired job sits in the dead-letter topic as `expired`, and never ran; its key
    # was not held: the two jobs behind it ran
    assert handled == [1, 2]
    [letter] = read_all(cluster, dead_letter_topic(topic), 1)
    assert letter.headers[DLT_REASON] == "expired"
    assert letter.headers[DLT_ATTEMPTS] == "0"
    assert letter.headers[JOB_ID] == expired_id
    assert expiry_of(letter.headers) <= expires_ms
    assert letter.key == key


async def test_with_drop_an_expired_job_is_counted_and_its_offset_committed(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given an expired job and one that expires later, published by the asyncio publisher
    topic = new_topic("expiry-drop", partitions=1)
    (first, key), (second, _) = email(2, 0), email(2, 1)
    async with AsyncPublisher(cluster.settings(), routes(topic)) as publisher:
        await publisher.publish_nowait(first, key=key, expires=timedelta(seconds=SHORT))
        await publisher.publish(second, key=key, expires=3600)
    await until_past(int(time.time() * 1000 + SHORT * 1000))
    app = App(f"expiry-drop-{topic}")
    handled: list[int] = []

    @app.handler(SendEmail, on_expired="drop")
    async def handle(job: SendEmail, ctx: Context) -> None:
        handled.append(seq_of(job)[1])

    # When a worker consumes them
    async with running(app, worker_settings(cluster, [topic])) as worker:
        await wait_for(lambda: committed(cluster, app.name, topic, 1) == {0: 2}, 60, "commit")
        page = worker.prometheus.render()
        dead_lettered = worker.metrics.total("dead_lettered")

    # Then the expired one was dropped, counted, and committed past; the other one ran
    assert handled == [1]
    assert dead_lettered == 0
    expired = [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == "keel_jobs_expired_total"
    ]
    assert expired == [({"job_type": JOB_TYPE, "action": "drop"}, 1.0)]


def test_an_expiry_already_past_is_refused_before_anything_is_sent(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("expiry-refused", partitions=1)
    job, key = email(3, 0)

    with Publisher(cluster.settings(), routes(topic)) as publisher:
        with pytest.raises(ExpiryError, match="already past"):
            publisher.publish(job, key=key, expires=-1)
        with pytest.raises(ExpiryError, match="already past"):
            publisher.publish_nowait(job, key=key, expires=timedelta(0))

    assert record_count(cluster.bootstrap_servers, topic) == 0
