"""A revoke drain under way when the worker shuts down ends at the shutdown's cut, not at its
own (possibly much later) deadline."""

import asyncio
import contextlib

from keel.consumers import App, Context
from keel.consumers.testing import InMemoryWorker
from keel.schemas.job import Job
from tests.support.jobs import catalog_of
from tests.support.waiting import until


class Step(Job):
    key: str
    n: int


async def test_a_revoke_drain_under_way_ends_when_drains_are_cut() -> None:
    # Given a partition whose one job never finishes, being drained with 60 s to go
    app = App("test", catalog=catalog_of(Step))
    started = asyncio.Event()

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        started.set()
        await asyncio.Event().wait()

    worker = InMemoryWorker(app)
    worker.send(Step(key="a", n=0), key=b"a")
    delivering = asyncio.ensure_future(worker.run_until_idle(timeout=60))
    await until(started.is_set, 5, "the job to start")
    engine = worker._ensure_engine()  # the engine the in-memory worker runs
    revoking = asyncio.ensure_future(engine.revoke([("jobs", 0)], 60))

    # When the shutdown cuts every drain
    await asyncio.sleep(0.05)
    engine.cut_drains()

    # Then the revoke returns at once, committing nothing of the unfinished job
    positions = await asyncio.wait_for(revoking, 5)
    assert [p.offset for p in positions.values()] == [0]
    delivering.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await delivering
