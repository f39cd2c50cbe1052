"""Async handlers share carrier tasks, and still run with the usual asyncio task semantics."""

import asyncio
import contextvars

from keel.consumers import App, Context, RetryPolicy
from keel.consumers.testing import InMemoryWorker
from keel.schemas.job import Job
from tests.support.jobs import catalog_of

_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")


class Step(Job):
    key: str
    n: int


CATALOG = catalog_of(Step)


async def test_a_handler_runs_as_the_current_task_from_its_first_line() -> None:
    app = App("test", catalog=CATALOG)
    seen: list[bool] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        task = asyncio.current_task()
        seen.append(task is not None and not task.done())
        async with asyncio.timeout(5):  # needs a current task before the first await
            await asyncio.sleep(0)
        async with asyncio.TaskGroup() as group:
            group.create_task(asyncio.sleep(0))

    worker = InMemoryWorker(app)
    worker.send(Step(key="a", n=0), key=b"a")
    await worker.run_until_idle()
    await worker.close()
    assert seen == [True]
    assert worker.dead_letters == []


async def test_a_timeout_entered_before_the_first_await_cancels_only_its_job() -> None:
    app = App("test", catalog=CATALOG, retry=RetryPolicy(max_attempts=1))
    finished: list[int] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        async with asyncio.timeout(0.01 if job.n == 0 else 5):
            await asyncio.sleep(10 if job.n == 0 else 0)
        finished.append(job.n)

    worker = InMemoryWorker(app)
    worker.send(Step(key="a", n=0), key=b"a")
    worker.send(Step(key="b", n=1), key=b"b")
    await worker.run_until_idle()
    await worker.close()
    assert finished == [1]
    [letter] = worker.dead_letters
    assert letter.headers["keel-dlt-error-class"] == "builtins.TimeoutError"


async def test_context_variables_set_by_a_handler_stay_in_its_job() -> None:
    app = App("test", catalog=CATALOG)
    seen: list[str] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        seen.append(_VAR.get())
        _VAR.set(f"job {job.n}")

    worker = InMemoryWorker(app)
    for n in range(3):
        worker.send(Step(key="a", n=n), key=b"a")
    await worker.run_until_idle()
    await worker.close()
    assert seen == ["unset"] * 3
    assert _VAR.get() == "unset"


async def test_a_long_lane_of_jobs_that_never_suspend_settles_without_recursion() -> None:
    app = App("test", catalog=CATALOG, retry=RetryPolicy(max_attempts=1))
    seen: list[int] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        seen.append(job.n)
        if job.n % 7 == 0:
            raise ValueError("fails at once")  # settles (dead-letters) without suspending too

    worker = InMemoryWorker(app, max_running=10_000)
    count = 5_000  # well past the interpreter's recursion limit, all on one key
    for n in range(count):
        worker.send(Step(key="a", n=n), key=b"a")
    await worker.run_until_idle(timeout=30)
    await worker.close()
    assert seen == list(range(count))
    assert len(worker.dead_letters) == len(range(0, count, 7))
    assert worker.committed == {0: count}
