"""Flow control on a real broker: a partition that holds its share of the buffer pauses alone."""

import asyncio
from collections.abc import Callable

from keel.consumers import App, Context
from keel.schemas.demo import SendEmail
from tests.support.cluster import Cluster
from tests.support.sample import email, seq_of
from tests.support.worker import JobProducer, read_all, running, wait_for, worker_settings

STUCK = 999


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
