"""The engine's watermark past offsets a consumer never delivers (transaction markers)."""

import asyncio

from keel.consumers import App, Context
from keel.consumers.testing import InMemoryWorker
from tests.support.waiting import until
from tests.unit.consumers.pipeline.test_engine import CATALOG, Step

TP = ("jobs", 0)


def stuck_app(release: asyncio.Event, finished: list[int]) -> App:
    app = App("test", catalog=CATALOG)

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        if job.key == "stuck":
            await release.wait()
        finished.append(job.n)

    return app


async def test_the_watermark_follows_the_position_only_once_the_running_job_finishes() -> None:
    # Given ten jobs (offsets 0-9) of which offset 1 hangs, and a position past two markers
    release, finished = asyncio.Event(), list[int]()
    worker = InMemoryWorker(stuck_app(release, finished))
    for n in range(10):
        worker.send(Step(key="stuck" if n == 1 else "a", n=n), key=b"k%d" % (n == 1))
    run = asyncio.ensure_future(worker.run_until_idle())
    await until(lambda: len(finished) == 9, 5, "the nine jobs that do not hang")
    # When the consumer says its position is 12
    worker._ensure_engine().passed({TP: 12})
    # Then the commit stays at the running job, and reaches 12 once it finishes
    assert worker.committed == {0: 1}
    release.set()
    await run
    assert worker.committed == {0: 12}
    await worker.close()


async def test_a_position_reported_while_shutting_down_moves_nothing() -> None:
    # Given a hanging job at offset 0 and a shutdown under way
    release, finished = asyncio.Event(), list[int]()
    worker = InMemoryWorker(stuck_app(release, finished))
    worker.send(Step(key="stuck", n=0), key=b"stuck")
    run = asyncio.ensure_future(worker.run_until_idle())
    engine = worker._ensure_engine()
    await until(lambda: engine.running == 1, 5, "the hanging job to start")
    stopping = asyncio.ensure_future(engine.stop(5.0))
    await until(lambda: engine.stopping, 5, "the shutdown to begin")
    # When a record at offset 1 arrives (dropped: nothing starts now) and the position says 3
    worker.send(Step(key="late", n=1), key=b"late")
    await until(lambda: not worker._pending, 5, "the late record's delivery")
    engine.passed({TP: 3})
    release.set()
    await stopping
    await run
    # Then the commit passes only the finished job: the dropped record runs on the next owner
    assert finished == [0]
    assert worker.committed == {0: 1}
    await worker.close()
