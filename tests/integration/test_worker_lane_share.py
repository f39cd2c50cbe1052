"""Priority lanes against the real broker: the weighted mode's share, and the reserved slot."""

import asyncio
from collections.abc import Callable
from itertools import groupby

from confluent_kafka.admin import AdminClient

from keel.consumers import App, Context
from keel.producers import ProducerSettings, Publisher, Route
from keel.schemas.demo import SendEmail
from keel.schemas.lanes import lane_topic
from tests.support.cluster import Cluster
from tests.support.sample import email
from tests.support.topics import create_topic
from tests.support.worker import running, wait_for, worker_settings

JOBS_PER_LANE = 600
LANES = ("high", "low")


def lane_routes(topic: str) -> ProducerSettings:
    """SendEmail goes to the low lane unless a publish asks for the high one."""
    route = Route(topic=topic, priority="low", lanes=("high",), priority_per_publish=True)
    return ProducerSettings(routes={SendEmail.get_fullname(): route})


def lane_topics(
    admin: AdminClient, new_topic: Callable[..., str], name: str
) -> tuple[str, str, str]:
    """A job topic's name, and its high and low lanes, created with one partition each."""
    base = new_topic(name, partitions=1)
    low, high = lane_topic(base, "low"), lane_topic(base, "high")
    create_topic(admin, low, 1)
    create_topic(admin, high, 1)
    return base, high, low


def while_both_wait(starts: list[str]) -> list[str]:
    """The starts from the moment both lanes have started until either lane's last job."""
    first_both = max(starts.index("high"), starts.index("low"))
    last_both = min(len(starts) - 1 - starts[::-1].index(lane) for lane in LANES)
    return starts[first_both + 1 : last_both]


async def test_weighted_lanes_give_the_low_lane_its_share_while_the_high_lane_is_busy(
    cluster: Cluster, admin: AdminClient, new_topic: Callable[..., str]
) -> None:
    # Given 600 high and 600 low jobs waiting in their lanes, every job its own key
    base, high, low = lane_topics(admin, new_topic, "lane-share")
    with Publisher(cluster.settings(), lane_routes(base)) as publisher:
        for n in range(JOBS_PER_LANE):
            publisher.publish_nowait(*email(n, n), priority="high")
            publisher.publish_nowait(*email(JOBS_PER_LANE + n, n))
    app = App(f"lane-share-{base}")
    starts: list[str] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        starts.append("high" if int(job.params["key"]) < JOBS_PER_LANE else "low")
        await asyncio.sleep(0.001)

    # When one handler slot serves both lanes, weighted 3 (high) to 1 (low), with a buffer that
    # holds both backlogs
    settings = worker_settings(
        cluster,
        [high, low],
        max_in_flight=1,
        lanes="weighted",
        lane_weights=(3, 1, 1),
        buffer_high=4_000,
        buffer_low=2_000,
    )
    async with running(app, settings):
        await wait_for(lambda: len(starts) == 2 * JOBS_PER_LANE, 90, "every job")

    # Then while both lanes had jobs waiting, one start in four was a low one, spread out
    shared = while_both_wait(starts)
    low_share = shared.count("low") / max(1, len(shared))
    longest = {
        lane: max((len(list(run)) for k, run in groupby(shared) if k == lane), default=0)
        for lane in LANES
    }
    print(
        f"{len(shared)} starts while both lanes waited: low share {low_share:.3f}, runs {longest}"
    )
    assert len(shared) >= JOBS_PER_LANE, len(shared)
    assert 0.2 <= low_share <= 0.3, low_share
    assert longest["high"] <= 3, longest  # the low lane's turn comes at least every fourth start
    assert sorted(starts) == ["high"] * JOBS_PER_LANE + ["low"] * JOBS_PER_LANE  # each ran once


async def test_a_high_job_takes_the_reserved_slot_while_low_jobs_hold_every_other(
    cluster: Cluster, admin: AdminClient, new_topic: Callable[..., str]
) -> None:
    # Given low jobs that hold their slots until the high job has started
    base, high, low = lane_topics(admin, new_topic, "lane-reserve")
    routes = lane_routes(base)
    with Publisher(cluster.settings(), routes) as publisher:
        for n in range(50):
            publisher.publish_nowait(*email(n, n))
    app = App(f"lane-reserve-{base}")
    high_started = asyncio.Event()
    low_running: list[int] = []
    low_running_at_high: list[int] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        if job.params["key"] == "high":
            low_running_at_high.append(len(low_running))
            high_started.set()
            return
        low_running.append(1)
        await high_started.wait()
        low_running.pop()

    # And a worker of 4 slots, one of them reserved for the high lane
    settings = worker_settings(cluster, [high, low], max_in_flight=4, lane_reserve=1)
    async with running(app, settings) as worker:
        await wait_for(lambda: len(low_running) == 3 and worker.engine.buffered > 3, 60, "3 low")
        # When a high job is published while the low ones hold every unreserved slot
        job, key = email(10_000, 0)
        job.params["key"] = "high"
        with Publisher(cluster.settings(), routes) as publisher:
            publisher.publish(job, key=key, priority="high")
        # Then it starts at once, beside the three low jobs, in the slot they left free
        await asyncio.wait_for(high_started.wait(), 60)
        assert low_running_at_high == [3]
        await wait_for(lambda: not low_running, 30, "the low jobs to end")
