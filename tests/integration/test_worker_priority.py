"""Priority lanes against the real broker: a high-priority job overtakes a backlog of low ones."""

import asyncio
from collections.abc import Callable

import pytest
from confluent_kafka.admin import AdminClient

from keel.consumers import App, Context
from keel.producers import PriorityError, ProducerSettings, Publisher, Route
from keel.schemas.demo import SendEmail
from keel.schemas.lanes import lane_topic
from tests.support.cluster import Cluster
from tests.support.sample import email, seq_of
from tests.support.topics import create_topic
from tests.support.worker import running, wait_for, worker_settings

LOW_JOBS = 5_000
HIGH_SEQ = -1
# Accepted records of the low lane the worker holds while the high job arrives: without lanes,
# the high job would queue behind all of them.
BUFFERED_LOW = 1_500


def lane_routes(topic: str) -> ProducerSettings:
    """SendEmail goes to the low lane unless a publish asks for the high one."""
    route = Route(topic=topic, priority="low", lanes=("high",), priority_per_publish=True)
    return ProducerSettings(routes={SendEmail.get_fullname(): route})


async def test_a_high_priority_job_overtakes_a_backlog_of_low_ones(
    cluster: Cluster, admin: AdminClient, new_topic: Callable[..., str]
) -> None:
    # Given 5,000 low-lane jobs (each its own key) published through the routes' default lane
    base = new_topic("lanes", partitions=1)
    low, high = lane_topic(base, "low"), lane_topic(base, "high")
    create_topic(admin, low, 2)
    create_topic(admin, high, 1)
    routes = lane_routes(base)
    with Publisher(cluster.settings(), routes) as publisher:
        for n in range(LOW_JOBS):
            publisher.publish_nowait(*email(n, n))
    app = App(f"lanes-{base}")
    finished: list[int] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        await asyncio.sleep(0.004)  # slow-ish: four slots run about 1,000 jobs a second at most
        finished.append(seq_of(job)[1])

    # And a worker with few slots and a buffer that holds thousands of the low jobs
    settings = worker_settings(
        cluster, [high, low], max_in_flight=4, buffer_high=6_000, buffer_low=3_000
    )
    async with running(app, settings) as worker:
        await wait_for(lambda: worker.engine.buffered >= BUFFERED_LOW, 60, "a buffered backlog")
        # When one job is published with priority="high" while the backlog runs
        with Publisher(cluster.settings(), routes) as publisher:
            delivery = publisher.publish(*email(LOW_JOBS, HIGH_SEQ), priority="high")
            low_before_publish = len(finished)
        assert delivery.topic == high
        await wait_for(lambda: HIGH_SEQ in finished, 60, "the high-priority job")
        low_before_high = finished.index(HIGH_SEQ)
        await wait_for(lambda: len(finished) == LOW_JOBS + 1, 120, "the whole backlog")

    # Then it ran within a few handler slots' worth of low jobs, far ahead of the backlog
    overtaken_by = low_before_high - low_before_publish
    print(
        f"low jobs finished before it: {low_before_high} of {LOW_JOBS}; after its publish: "
        f"{overtaken_by}"
    )
    assert low_before_high < LOW_JOBS // 2
    assert overtaken_by < 200, overtaken_by
    assert sorted(finished) == [HIGH_SEQ, *range(LOW_JOBS)]  # each job ran once


def test_an_ordered_job_type_refuses_a_per_publish_priority_before_sending(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    base = new_topic("lanes-ordered", partitions=1)
    route = Route(topic=base, lanes=("high",))  # SendEmail is ordered by user
    settings = ProducerSettings(routes={SendEmail.get_fullname(): route})
    with (
        Publisher(cluster.settings(), settings) as publisher,
        pytest.raises(PriorityError, match="ordered"),
    ):
        publisher.publish(*email(1, 1), priority="high")
