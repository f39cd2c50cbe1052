"""Which job the engine starts when a slot frees, run through `keel.consumers.testing`."""

import asyncio
import random

from keel.consumers import App, Context
from keel.consumers.testing import InMemoryWorker
from keel.schemas.job import Job
from tests.support.jobs import catalog_of


class Step(Job):
    key: str
    n: int


CATALOG = catalog_of(Step)


def _recording_app(started: list[str]) -> App:
    app = App("test", catalog=CATALOG)

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        started.append(f"{job.key}{job.n}")
        await asyncio.sleep(0)  # suspends: the slot stays taken until the loop comes back

    return app


async def test_a_freed_slot_goes_to_the_key_with_the_most_work_left() -> None:
    # Given one slot, a light key with two jobs, then a heavy key with five
    started: list[str] = []
    worker = InMemoryWorker(_recording_app(started), max_running=1, max_overtakes=100)
    for key, count in (("light", 2), ("heavy", 5)):
        for n in range(count):
            worker.send(Step(key=key, n=n), key=key.encode())

    # When they run
    await worker.run_until_idle()
    await worker.close()

    # Then the light key's second job does not inherit its first job's slot: the heavy key,
    # with more work left, goes first, each of its jobs in order, until both have one job left
    # (a tie goes to the job that has waited longer)
    assert started == ["light0", "heavy0", "heavy1", "heavy2", "heavy3", "light1", "heavy4"]


async def test_a_light_key_is_overtaken_at_most_max_overtakes_times_while_heavy_keys_grow() -> None:
    async def light_job_position(max_overtakes: int) -> int:
        # Given one slot, two heavy keys that keep receiving jobs while they run, and a light
        # key's single job that arrives behind them
        started: list[str] = []
        app = App("test", catalog=CATALOG)
        worker = InMemoryWorker(app, max_running=1, max_overtakes=max_overtakes)
        sent = {"h0": 0, "h1": 0}

        def send(key: str) -> None:
            worker.send(Step(key=key, n=sent[key]), key=key.encode())
            sent[key] += 1

        @app.handler(Step)
        async def step(job: Step, ctx: Context) -> None:
            started.append(job.key)
            if job.key in sent and sent[job.key] < 40:
                send(job.key)
            await asyncio.sleep(0)

        for _ in range(20):
            send("h0")
            send("h1")
        worker.send(Step(key="light", n=0), key=b"light")

        # When they all run
        await worker.run_until_idle()
        await worker.close()
        assert len(started) == sum(sent.values()) + 1
        return started.index("light")

    # Then with 3 overtakes allowed, the light job starts within 3 starts of its arrival plus
    # one for the heavy head that was waiting before it (h0's first job holds the slot)
    assert await light_job_position(3) <= 1 + 3 + 1
    # and without the bound it waits until a heavy key is down to its last buffered job (each
    # starts with 20; the records sent while they run arrive in later deliveries)
    assert await light_job_position(10**6) > 30


async def test_per_key_order_holds_while_most_jobs_wait_for_a_slot() -> None:
    # Given few slots and many keys with random work and random handler times
    rng = random.Random(3)
    app = App("test", catalog=CATALOG)
    seen: dict[str, list[int]] = {}
    running: set[str] = set()
    overlapped: list[str] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        if job.key in running:
            overlapped.append(job.key)
        running.add(job.key)
        await asyncio.sleep(rng.random() / 1000)
        seen.setdefault(job.key, []).append(job.n)
        running.discard(job.key)

    worker = InMemoryWorker(app, partitions=3, max_running=4, max_overtakes=6)
    for n in range(1_500):
        key = f"k{min(rng.randrange(40), rng.randrange(40))}"  # some keys far heavier
        worker.send(Step(key=key, n=n), key=key.encode())

    # When they run
    await worker.run_until_idle(timeout=30)
    await worker.close()

    # Then every key's jobs ran one at a time, in offset order, and all of them ran
    assert not overlapped
    assert all(ns == sorted(ns) for ns in seen.values())
    assert sum(len(ns) for ns in seen.values()) == 1_500
