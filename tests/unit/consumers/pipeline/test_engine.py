"""The engine's rules, run in memory through `keel.consumers.testing` (the fake users get)."""

import asyncio
import random
import threading
import time
import zlib

import pytest

from keel.consumers import App, Context, Reject, Retry, RetryPolicy
from keel.consumers.pipeline.observer import RETRIED, Attempt, NoObserver
from keel.consumers.testing import InMemoryWorker
from keel.schemas.job import Job
from tests.support.jobs import catalog_of
from tests.support.waiting import until


class Step(Job):
    key: str
    n: int


class Other(Job):
    n: int


class Keyed(Job):
    """Ordered by key in the catalog: a record without a key is poison."""

    n: int


CATALOG = catalog_of(Step, Other, Keyed, ordered=[Keyed])

# How long the first retry of the retry test waits: far longer than one short job takes.
FIRST_RETRY_WAIT = 1.0


def make_app(**kwargs: object) -> App:
    return App("test", catalog=CATALOG, **kwargs)  # type: ignore[arg-type]


class RetryWatch(NoObserver):
    """Tells the test when an attempt has ended in a retry, i.e. the retry's wait has begun."""

    def __init__(self) -> None:
        self.retried = asyncio.Event()

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Attempt | None = None,
        error: BaseException | None = None,
    ) -> None:
        if outcome == RETRIED:
            self.retried.set()


async def test_same_key_in_offset_order_different_keys_concurrently() -> None:
    app = make_app()
    seen: dict[str, list[int]] = {}
    running = 0
    peak = 0

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(random.random() / 500)
        seen.setdefault(job.key, []).append(job.n)
        running -= 1

    worker = InMemoryWorker(app, partitions=3)
    for n in range(600):
        key = f"k{n % 20}"
        worker.send(Step(key=key, n=n), key=key.encode())
    await worker.run_until_idle()
    await worker.close()
    assert all(ns == sorted(ns) for ns in seen.values())
    assert sum(len(ns) for ns in seen.values()) == 600
    assert peak > 1  # keys overlapped
    assert peak <= 20  # never two of one key


async def test_commits_only_the_contiguous_watermark_while_a_job_is_stuck() -> None:
    app = make_app()
    release = asyncio.Event()
    finished: list[int] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        if job.key == "stuck":
            await release.wait()
        finished.append(job.n)

    worker = InMemoryWorker(app)
    worker.send(Step(key="a", n=0), key=b"a")
    worker.send(Step(key="stuck", n=1), key=b"stuck")
    for n in range(2, 10):
        worker.send(Step(key="b", n=n), key=b"b")
    run = asyncio.ensure_future(worker.run_until_idle())
    await until(lambda: len(finished) == 9, 5, "the 9 jobs around the stuck one to finish")
    assert worker.committed == {0: 1}  # later jobs finished, the commit stays at the stuck one
    release.set()
    await run
    assert worker.committed == {0: 10}
    await worker.close()


async def test_retry_blocks_only_its_key_and_succeeds_on_attempt_three() -> None:
    # Given a job of key "flaky" that asks for a retry, and a second job of its key behind it
    watch = RetryWatch()
    app = make_app(retry=RetryPolicy(max_attempts=5))
    events: list[tuple[str, int, int]] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        events.append(("start", job.n, ctx.attempt))
        if job.n == 0 and ctx.attempt < 3:
            # The first wait is long enough for the other key's job to run inside it.
            raise Retry(after=FIRST_RETRY_WAIT if ctx.attempt == 1 else 0.01)
        events.append(("end", job.n, ctx.attempt))

    worker = InMemoryWorker(app, observer=watch)  # one partition: both keys share it
    worker.send(Step(key="flaky", n=0), key=b"flaky")
    worker.send(Step(key="flaky", n=1), key=b"flaky")
    run = asyncio.ensure_future(worker.run_until_idle(timeout=FIRST_RETRY_WAIT + 10))

    # When another key's job is delivered during the first retry's wait
    await asyncio.wait_for(watch.retried.wait(), timeout=5)
    worker.send(Step(key="calm", n=2), key=b"calm")
    assert events == [("start", 0, 1)]  # nothing else has run: the wait is still on
    await run
    await worker.close()

    # Then that job finished before the retry ran, and the flaky key kept its own order
    assert events.index(("end", 2, 1)) < events.index(("start", 0, 2)), events
    flaky = [event for event in events if event[1] != 2]
    assert flaky == [
        ("start", 0, 1),
        ("start", 0, 2),
        ("start", 0, 3),
        ("end", 0, 3),
        ("start", 1, 1),  # n=1 waited for n=0's retries
        ("end", 1, 1),
    ]
    assert worker.dead_letters == []


async def test_always_failing_lands_in_dead_letters_after_exactly_max_attempts() -> None:
    app = make_app(retry=RetryPolicy(max_attempts=3, retry_on=(OSError,)))
    calls = 0

    @app.handler(Step)
    def step(job: Step, ctx: Context) -> None:  # a sync handler, in the thread pool
        nonlocal calls
        calls += 1
        raise OSError("smtp down")

    worker = InMemoryWorker(app)
    worker.send(Step(key="a", n=0), key=b"a", headers={"keel-job-id": "j-1"})
    await worker.run_until_idle()
    await worker.close()
    assert calls == 3
    [letter] = worker.dead_letters
    assert letter.topic == "jobs.dlt"
    assert letter.key == b"a"
    assert letter.headers["keel-job-id"] == "j-1"
    assert letter.headers["keel-dlt-attempts"] == "3"
    assert letter.headers["keel-dlt-reason"] == "retries-exhausted"
    assert letter.headers["keel-dlt-error-class"] == "builtins.OSError"
    assert "smtp down" in letter.headers["keel-dlt-traceback"]
    assert worker.committed == {0: 1}


async def test_fatal_error_and_reject_skip_retries() -> None:
    app = make_app(retry=RetryPolicy(max_attempts=5, retry_on=(OSError,)))
    calls: list[int] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        calls.append(job.n)
        if job.n == 0:
            raise ValueError("bad template")
        raise Reject("unknown user")

    worker = InMemoryWorker(app)
    worker.send(Step(key="a", n=0), key=b"a")
    worker.send(Step(key="b", n=1), key=b"b")
    await worker.run_until_idle()
    await worker.close()
    assert sorted(calls) == [0, 1]
    reasons = sorted(letter.headers["keel-dlt-reason"] for letter in worker.dead_letters)
    assert reasons == ["fatal-error", "rejected: unknown user"]


async def test_poison_is_set_aside_and_good_jobs_behind_it_flow() -> None:
    app = make_app()
    done: list[int] = []

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        done.append(job.n)

    worker = InMemoryWorker(app)
    worker.send_raw(b"\x01garbage", key=b"a")
    worker.send(Keyed(n=1))  # ordered by key in the catalog, sent without one
    worker.send(Other(n=2), key=b"c")  # no handler for this type
    worker.send(Step(key="a", n=3), key=b"a")
    await worker.run_until_idle()
    await worker.close()
    assert done == [3]
    reasons = [letter.headers["keel-dlt-reason"] for letter in worker.dead_letters]
    assert reasons == ["wrong-magic-byte", "missing-key", "no-handler"]
    assert worker.dead_letters[0].value == b"\x01garbage"
    assert worker.committed == {0: 4}


async def test_a_failing_dead_letter_topic_stops_the_partition_from_advancing() -> None:
    app = make_app()

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        pass

    worker = InMemoryWorker(app)
    worker.dead_letter_error = "topic unavailable"
    worker.send_raw(b"junk", key=b"x")
    worker.send(Step(key="y", n=1), key=b"y")
    with pytest.raises(TimeoutError):
        await worker.run_until_idle(timeout=0.3)
    assert worker.committed == {0: 0}
    assert worker.dead_letters == []
    worker.dead_letter_error = None  # the topic is back: the pending write goes through
    await worker.run_until_idle(timeout=5)
    assert worker.committed == {0: 2}
    assert len(worker.dead_letters) == 1
    await worker.close()


async def test_async_handler_over_its_time_limit_is_cancelled_and_retried() -> None:
    app = make_app(retry=RetryPolicy(max_attempts=2))
    attempts: list[int] = []

    @app.handler(Step, timeout=0.05)
    async def step(job: Step, ctx: Context) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            await asyncio.sleep(10)

    worker = InMemoryWorker(app)
    worker.send(Step(key="a", n=0), key=b"a")
    await worker.run_until_idle()
    await worker.close()
    assert attempts == [1, 2]
    assert worker.dead_letters == []


async def test_sync_handler_over_its_time_limit_fails_only_once_its_thread_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(retry=RetryPolicy(max_attempts=2))
    gate = threading.Event()
    events: list[str] = []

    @app.handler(Step, timeout=0.05)
    def step(job: Step, ctx: Context) -> None:
        events.append(f"start {ctx.attempt}")
        if ctx.attempt == 1:
            gate.wait(10)
        events.append(f"end {ctx.attempt}")

    worker = InMemoryWorker(app)
    worker.send(Step(key="a", n=0), key=b"a")
    running = asyncio.create_task(worker.run_until_idle(timeout=30))

    # When the first attempt overruns its limit, it is reported at once...
    deadline = time.monotonic() + 10
    while "overran its 0.05s limit" not in caplog.text:
        assert time.monotonic() < deadline, "the overrun was never reported"
        await asyncio.sleep(0.01)
    # ...but its retry does not start beside the thread that is still running it
    assert events == ["start 1"]
    gate.set()
    await running
    await worker.close()
    assert events == ["start 1", "end 1", "start 2", "end 2"]
    assert worker.dead_letters == []


async def test_sync_handler_over_its_time_limit_is_dead_lettered_as_a_timeout() -> None:
    app = make_app(retry=RetryPolicy(max_attempts=1))

    @app.handler(Step, timeout=0.01)
    def step(job: Step, ctx: Context) -> None:
        time.sleep(0.2)  # the handler's own work, past its limit

    worker = InMemoryWorker(app)
    worker.send(Step(key="a", n=0), key=b"a")
    await worker.run_until_idle()
    await worker.close()
    [letter] = worker.dead_letters
    assert letter.headers["keel-dlt-error-class"] == "keel.consumers.signals.JobTimeout"


async def test_buffered_above_the_high_mark_pauses_fetching() -> None:
    app = make_app()
    release = asyncio.Event()

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        await release.wait()

    worker = InMemoryWorker(app, max_running=4)
    for n in range(8):
        worker.send(Step(key=f"k{n}", n=n), key=f"k{n}".encode())
    run = asyncio.ensure_future(worker.run_until_idle())
    await until(lambda: worker.paused, 5, "flow control to pause fetching")
    release.set()
    await run
    assert not worker.paused
    await worker.close()


async def test_a_partition_over_its_share_pauses_alone_while_the_others_flow() -> None:
    # Given two partitions (a share of 4 records each) and a key in each
    app = make_app()
    release = asyncio.Event()
    done: list[str] = []
    slow, fast = "k1", "k4"
    assert zlib.crc32(slow.encode()) % 2 != zlib.crc32(fast.encode()) % 2

    @app.handler(Step)
    async def step(job: Step, ctx: Context) -> None:
        if job.key == slow:
            await release.wait()
        done.append(job.key)

    worker = InMemoryWorker(app, partitions=2, max_running=4)
    (slow_partition, _), (fast_partition, _) = [
        worker.send(Step(key=key, n=0), key=key.encode()) for key in (slow, fast)
    ]
    for n in range(1, 8):
        worker.send(Step(key=slow, n=n), key=slow.encode())
        worker.send(Step(key=fast, n=n), key=fast.encode())

    # When the slow key's partition holds more than its share
    run = asyncio.ensure_future(worker.run_until_idle())
    deadline = time.monotonic() + 5
    while done.count(fast) < 8:
        assert time.monotonic() < deadline, done
        await asyncio.sleep(0.001)

    # Then only that partition is paused, and the other one's jobs all ran meanwhile
    assert worker.paused_partitions == {slow_partition}
    assert fast_partition not in worker.paused_partitions
    release.set()
    await run
    assert not worker.paused
    await worker.close()


def test_one_handler_per_job_type() -> None:
    app = make_app()

    @app.handler(Step)
    async def first(job: Step, ctx: Context) -> None:
        pass

    with pytest.raises(ValueError, match="already has a handler"):
        app.handler(Step)(first)
