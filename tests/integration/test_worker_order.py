"""Per-key order under concurrency, and commits that never pass an unfinished job."""

import asyncio
import random
import time
from collections.abc import Callable

from keel.consumers import App, Context
from keel.schemas.demo import SendEmail
from tests.support.cluster import Cluster
from tests.support.sample import email, seq_of
from tests.support.worker import (
    JobProducer,
    committed,
    end_offsets,
    running,
    wait_for,
    worker_settings,
)


async def test_every_keys_jobs_run_in_offset_order_under_concurrency(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given 20,000 jobs over 500 keys on 6 partitions, and a handler with random latency
    topic = new_topic("order", partitions=6)
    producer = JobProducer(cluster, topic)
    total = producer.send_all(email(n % 500, n // 500) for n in range(20_000))
    producer.close()
    app = App(f"order-{topic}")
    seen: dict[str, list[int]] = {}
    running_now = 0
    peak = 0

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        nonlocal running_now, peak
        running_now += 1
        peak = max(peak, running_now)
        await asyncio.sleep(random.random() / 200)
        key, seq = seq_of(job)
        seen.setdefault(key, []).append(seq)
        running_now -= 1

    # When one worker runs them all
    settings = worker_settings(cluster, [topic], max_in_flight=500)
    async with running(app, settings):
        await wait_for(lambda: sum(map(len, map(set, seen.values()))) >= total, 120, "all jobs")
        ends = end_offsets(cluster, topic, 6)
        await wait_for(lambda: committed(cluster, app.name, topic, 6) == ends, 30, "final commit")

    # Then every key saw its jobs exactly once, in order, with many keys running at once
    assert len(seen) == 500
    wrong = {key: seqs for key, seqs in seen.items() if seqs != list(range(40))}
    assert not wrong, wrong
    assert peak > 50


async def test_committed_offset_never_passes_a_stuck_job(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given a partition whose 6th job hangs while the 300 after it (other keys) finish
    topic = new_topic("stuck", partitions=1)
    producer = JobProducer(cluster, topic)
    producer.send_all(email(n % 50 if n != 5 else 999, n) for n in range(301))
    producer.close()
    app = App(f"stuck-{topic}")
    release = asyncio.Event()
    done = 0

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        nonlocal done
        if seq_of(job)[0] == "999":
            await release.wait()
        done += 1

    settings = worker_settings(cluster, [topic], commit_interval=0.05)
    async with running(app, settings):
        # When the others have finished and many commit intervals pass
        await wait_for(lambda: done == 300, 60, "the other jobs")
        await wait_for(lambda: committed(cluster, app.name, topic, 1)[0] == 5, 10, "commit")
        observed: set[int] = set()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            observed.add(committed(cluster, app.name, topic, 1)[0])
            await asyncio.sleep(0.05)
        # Then the group's committed offset stays at the stuck job, never past it
        assert observed == {5}
        release.set()
        await wait_for(lambda: committed(cluster, app.name, topic, 1)[0] == 301, 30, "commit")


async def test_the_kip_848_consumer_group_protocol_runs_and_commits_the_same_way(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("kip848", partitions=3)
    producer = JobProducer(cluster, topic)
    total = producer.send_all(email(n % 30, n // 30) for n in range(600))
    producer.close()
    app = App(f"kip848-{topic}")
    seen: dict[str, list[int]] = {}

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        await asyncio.sleep(random.random() / 500)
        key, seq = seq_of(job)
        seen.setdefault(key, []).append(seq)

    settings = worker_settings(cluster, [topic], group_protocol="consumer")
    async with running(app, settings):
        await wait_for(lambda: sum(map(len, seen.values())) >= total, 60, "all jobs")
        ends = end_offsets(cluster, topic, 3)
        await wait_for(lambda: committed(cluster, app.name, topic, 3) == ends, 30, "commits")
    assert all(seqs == list(range(20)) for seqs in seen.values())
    assert len(seen) == 30
