"""Flow control on a real broker: a partition that holds its share of the buffer pauses alone."""

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from confluent_kafka.admin import AdminClient

from keel.consumers import App, Context
from keel.schemas.demo import SendEmail
from tests.support.cluster import Cluster
from tests.support.sample import email, seq_of
from tests.support.worker import (
    JobProducer,
    committed,
    end_offsets,
    read_all,
    running,
    wait_for,
    worker_settings,
)

STUCK = 999
# librdkafka wants max.poll.interval.ms >= session.timeout.ms, and the broker's shortest session
# (group.min.session.timeout.ms) is 6 s.
MAX_POLL_INTERVAL_MS = 6000
LONG_JOB = 9.0


async def test_a_partition_stalled_by_one_key_pauses_alone_while_the_other_flows(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given two partitions, one key whose jobs hang, and 600 jobs of 50 other keys
    topic = new_topic("flow", partitions=2)
    producer = JobProducer(cluster, topic)
    jobs = [email(n % 50, n // 50) for n in range(600)]
    jobs[::15] = [email(STUCK, n) for n in range(40)]
    total = producer.send_all(jobs)
    producer.close()
    reads = read_all(cluster, topic, total)
    stuck_key = email(STUCK, 0)[1]
    (stuck_partition,) = {r.partition for r in reads if r.key == stuck_key}
    flowing = {r.key.decode() for r in reads if r.partition != stuck_partition and r.key}
    expected = sum(1 for r in reads if r.partition != stuck_partition)
    app = App(f"flow-{topic}")
    release = asyncio.Event()
    done: list[tuple[str, int]] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        if seq_of(job)[0] == str(STUCK):
            await release.wait()
        done.append(seq_of(job))

    # When one worker with a buffer of 40 records (20 per partition) runs them
    settings = worker_settings(cluster, [topic], max_in_flight=10, buffer_high=40, buffer_low=20)
    async with running(app, settings) as worker:
        key_of = {str(n): str(email(n, 0)[1], "ascii") for n in range(50)}

        def flowed() -> int:
            return sum(1 for key, _seq in done if key_of.get(key) in flowing)

        # Then every job of the other partition runs, while only the stalled one is paused
        await wait_for(
            lambda: flowed() == expected and worker.engine.paused == {(topic, stuck_partition)},
            60,
            "the other partition's jobs, with only the stalled partition paused",
        )
        assert len(done) < total
        release.set()
        await wait_for(lambda: len(done) == total, 60, "all jobs once released")
        assert worker.engine.paused == frozenset()


async def test_a_job_longer_than_max_poll_interval_does_not_evict_the_worker(
    cluster: Cluster,
    new_topic: Callable[..., str],
    admin: AdminClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a worker whose consumer must poll every 6 s, the broker's shortest session
    topic = new_topic("longjob", partitions=1)
    app = App(f"longjob-{topic}")
    runs: list[float] = []  # when the long job started, per run
    ended: dict[str, float] = {}  # when each job ended, by key

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        key, _seq = seq_of(job)
        if key == str(STUCK):
            runs.append(time.monotonic())
            await asyncio.sleep(LONG_JOB)
        ended[key] = time.monotonic()

    settings = worker_settings(
        cluster, [topic], max_poll_interval_ms=MAX_POLL_INTERVAL_MS, session_timeout_ms=6000
    )
    producer = JobProducer(cluster, topic)
    caplog.set_level(logging.INFO, logger="keel.consumers.pipeline.source")
    async with running(app, settings):
        # When a job runs half as long again as max.poll.interval.ms
        producer.send_all([email(STUCK, 0)])
        await wait_for(lambda: bool(runs), 30, "the long job to start")
        members = await asyncio.to_thread(member_ids, admin, app.name)
        # while jobs of other keys arrive behind it
        producer.send_all(email(n, 0) for n in range(20))
        producer.close()
        await wait_for(lambda: len(ended) == 21, LONG_JOB + 30, "every job")
        # Then the worker is still the group's same member, never revoked nor lost its partition,
        assert await asyncio.to_thread(member_ids, admin, app.name) == members
        rebalances = [r.message.split()[0] for r in caplog.records if r.name.endswith(".source")]
        assert rebalances == ["assigned"]
        # and commits what it ran
        ends = end_offsets(cluster, topic, 1)
        await wait_for(lambda: committed(cluster, app.name, topic, 1) == ends, 30, "commit")
    # the long job ran once, and the jobs behind it were polled and ran while it was running
    assert len(runs) == 1
    assert len(members) == 1
    assert max(at for key, at in ended.items() if key != str(STUCK)) < ended[str(STUCK)]


def member_ids(admin: AdminClient, group: str) -> list[str]:
    """The member ids of `group`, as its coordinator knows them."""
    description = admin.describe_consumer_groups([group])[group].result(timeout=30)
    return sorted(member.member_id for member in description.members)
