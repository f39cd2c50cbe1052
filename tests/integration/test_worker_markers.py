"""Transaction markers on a real broker: the committed offset reaches the partition's end.

A transactional write is followed by a commit marker with an offset of its own, which a
`read_committed` consumer never delivers. The worker commits past it once nothing it received
is unfinished (see `keel.consumers.pipeline.markers`), and never past a job still running.
"""

import asyncio
import time
from collections.abc import Callable

from keel.consumers import App, Context
from keel.schemas.demo import SendEmail
from tests.support.cluster import Cluster
from tests.support.commits import Commit, commits
from tests.support.sample import email, seq_of
from tests.support.worker import (
    JobProducer,
    committed,
    end_offsets,
    running,
    wait_for,
    worker_settings,
)

HELD = 7


async def committed_soon(
    cluster: Cluster, group: str, topic: str, partitions: int, wanted: dict[int, int]
) -> dict[int, int]:
    """The group's commits once they equal `wanted`, or the last ones read after 60 s."""
    deadline = time.monotonic() + 60
    while True:
        found = await asyncio.to_thread(committed, cluster, group, topic, partitions)
        if found == wanted or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.3)


async def test_jobs_published_in_transactions_leave_no_lag(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given plain and transactional jobs on two partitions, a transaction last of all
    topic = new_topic("markers", partitions=2)
    plain = JobProducer(cluster, topic)
    tx = JobProducer(cluster, topic, transactional_id=f"test-{topic}")
    total = plain.send_all(email(n % 6, n) for n in range(20))
    total += tx.send_in_transaction(email(n % 6, n) for n in range(20, 30))
    total += plain.send_all(email(n % 6, n) for n in range(30, 40))
    total += tx.send_in_transaction(email(n % 6, n) for n in range(40, 50))
    plain.close()
    tx.close()
    ends = await asyncio.to_thread(end_offsets, cluster, topic, 2)
    app = App(f"markers-{topic}")
    done: list[tuple[str, int]] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        done.append(seq_of(job))

    # When a worker runs them all
    async with running(app, worker_settings(cluster, [topic])):
        await wait_for(lambda: len(done) == total, 60, "every job")
        # Then its commits reach each partition's end, past the trailing markers
        found = await committed_soon(cluster, app.name, topic, 2, ends)
    assert found == ends
    assert sorted(seq for _key, seq in done) == list(range(total))


async def test_a_running_job_keeps_the_commit_behind_it_past_a_marker(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given one transaction of a job that hangs (offset 0) and one that does not (offset 1)
    topic = new_topic("markers-held")
    tx = JobProducer(cluster, topic, transactional_id=f"test-{topic}")
    tx.send_in_transaction([email(HELD, 0), email(1, 1)])
    tx.close()
    (end,) = (await asyncio.to_thread(end_offsets, cluster, topic, 1)).values()
    assert end == 3  # two jobs and the marker
    app = App(f"markers-held-{topic}")
    release = asyncio.Event()
    done: list[tuple[str, int]] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        if seq_of(job)[0] == str(HELD):
            await release.wait()
        done.append(seq_of(job))

    async with running(app, worker_settings(cluster, [topic])):
        # When the second job finished and the first still runs
        await wait_for(lambda: done == [("1", 1)], 60, "the job that does not hang")
        behind = Commit(0, frozenset({1}))
        await wait_for_commit(cluster, app.name, topic, behind)
        # Then the commit stays at the running job, though the consumer is past the marker
        for _ in range(10):
            await asyncio.sleep(0.3)
            assert (await asyncio.to_thread(commits, cluster, app.name, topic, 1))[0] == behind
        # And once it finishes, the commit reaches the end
        release.set()
        found = await committed_soon(cluster, app.name, topic, 1, {0: end})
    assert found == {0: end}


async def wait_for_commit(cluster: Cluster, group: str, topic: str, wanted: Commit) -> None:
    """Wait until partition 0's commit is `wanted`; fail as soon as it passes `wanted.offset`."""
    deadline = time.monotonic() + 60
    while (found := (await asyncio.to_thread(commits, cluster, group, topic, 1))[0]) != wanted:
        assert found.offset <= wanted.offset, f"committed {found}, past a job still running"
        assert time.monotonic() < deadline, f"no commit {wanted} within 60 s"
        await asyncio.sleep(0.3)
