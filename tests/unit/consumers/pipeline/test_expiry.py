"""Expired jobs in the real engine, without Kafka: set aside at their start, never run."""

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from keel.consumers import App, Context, Reject, Retry
from keel.consumers.dead_letters.replay import Letter, replay_headers
from keel.consumers.pipeline.expiry import expires_at
from keel.consumers.registrations import OnExpired
from keel.consumers.retry_policy import RetryPolicy
from keel.consumers.settings import WorkerSettings
from keel.consumers.telemetry.metrics import Metrics
from keel.consumers.telemetry.prometheus import PrometheusView
from keel.consumers.testing import InMemoryWorker
from keel.schemas.headers import DLT_ATTEMPTS, DLT_REASON, EXPIRES_AT
from keel.schemas.job import Job
from tests.support.jobs import catalog_of

T0 = 1_800_000_000.0
KEY = b"order-1"


class Step(Job):
    n: int


class Clock:
    """Epoch seconds that move only when a test (or a handler) says so."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Steps:
    """An app whose handler records the steps it ran, and can move the clock while it runs."""

    def __init__(self, clock: Clock, on_expired: OnExpired | None = None) -> None:
        self.ran: list[int] = []
        self.clock = clock
        self.advance_on: dict[int, float] = {}  # step -> seconds its run moves the clock on
        self.reject: set[int] = set()
        self.app = App(
            "orders",
            catalog=catalog_of(Step),
            settings=WorkerSettings(health_port=None),
            retry=RetryPolicy(max_attempts=3, base_delay=0),
        )

        @self.app.handler(Step, on_expired=on_expired)
        def step(job: Step, ctx: Context) -> None:
            self.clock.now += self.advance_on.pop(job.n, 0.0)
            if job.n in self.reject:
                raise Reject("bad step")
            if job.n < 0 and ctx.attempt == 1:
                raise Retry(after=0)
            self.ran.append(job.n)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def run(steps: Steps, clock: Clock, **options: object) -> AsyncIterator[InMemoryWorker]:
    worker = InMemoryWorker(steps.app, topic="jobs.steps", clock=clock, **options)  # type: ignore[arg-type]
    yield worker
    await worker.close()


@pytest.fixture
async def dead_lettering(clock: Clock) -> AsyncIterator[tuple[Steps, InMemoryWorker]]:
    steps = Steps(clock)
    async for worker in run(steps, clock, quarantine=True):
        yield steps, worker


def test_the_expiry_header_is_read_as_epoch_milliseconds_and_garbage_never_expires() -> None:
    assert expires_at([("keel-job-id", b"x"), (EXPIRES_AT, b"1700000000123")]) == 1700000000123
    assert expires_at([(EXPIRES_AT, b"soon")]) == 0
    assert expires_at([("keel-job-id", b"x")]) == 0
    assert expires_at(None) == 0


async def test_an_expired_job_is_dead_lettered_as_expired_and_never_runs(
    dead_lettering: tuple[Steps, InMemoryWorker], clock: Clock
) -> None:
    steps, worker = dead_lettering
    worker.send(Step(n=1), key=KEY, expires=10)
    worker.send(Step(n=2), key=KEY, expires=60)
    clock.now += 30  # the first expired, the second did not

    await worker.run_until_idle()

    assert steps.ran == [2]
    [letter] = worker.dead_letters
    assert letter.headers[DLT_REASON] == "expired"
    assert letter.headers[DLT_ATTEMPTS] == "0"
    assert worker.committed == {0: 2}


async def test_an_expired_dead_letter_does_not_quarantine_its_key(
    dead_lettering: tuple[Steps, InMemoryWorker], clock: Clock
) -> None:
    steps, worker = dead_lettering
    worker.send(Step(n=1), key=KEY, expires=10)
    clock.now += 30
    worker.send(Step(n=2), key=KEY)
    worker.send(Step(n=3), key=KEY)

    await worker.run_until_idle()

    assert steps.ran == [2, 3]  # a failed job would have parked them (quarantine is on)
    assert [d.headers[DLT_REASON] for d in worker.dead_letters] == ["expired"]


async def test_a_job_that_expires_while_it_waits_for_its_key_does_not_run(
    dead_lettering: tuple[Steps, InMemoryWorker],
) -> None:
    steps, worker = dead_lettering
    steps.advance_on[1] = 30  # the first job of the key takes 30 s
    worker.send(Step(n=1), key=KEY)
    worker.send(Step(n=2), key=KEY, expires=10)
    worker.send(Step(n=3), key=KEY, expires=60)

    await worker.run_until_idle()

    assert steps.ran == [1, 3]
    assert [d.headers[DLT_REASON] for d in worker.dead_letters] == ["expired"]


async def test_a_job_that_started_before_its_expiry_is_retried_after_it(
    dead_lettering: tuple[Steps, InMemoryWorker],
) -> None:
    steps, worker = dead_lettering
    steps.advance_on[-1] = 30  # the first attempt takes 30 s and asks for another
    worker.send(Step(n=-1), key=KEY, expires=10)

    await worker.run_until_idle()

    assert steps.ran == [-1]
    assert worker.dead_letters == []


async def test_dropped_expired_jobs_are_counted_and_committed(clock: Clock) -> None:
    steps = Steps(clock, on_expired="drop")
    metrics = Metrics()
    async for worker in run(steps, clock, observer=metrics):
        # One key: the expired jobs queue behind the first and, dropped once it ends, must
        # finish one after another, not in a recursion 2,000 deep.
        worker.send(Step(n=0), key=KEY)
        for n in range(1, 2001):
            worker.send(Step(n=n), key=KEY, expires=10)
        worker.send(Step(n=2001), key=KEY, expires=60)
        clock.now += 30

        await worker.run_until_idle()

        assert steps.ran == [0, 2001]
        assert worker.dead_letters == []
        assert worker.committed == {0: 2002}
    scraped = [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(PrometheusView(metrics.snapshot).render())
        for sample in family.samples
        if sample.name == "keel_jobs_expired_total"
    ]
    assert scraped == [({"job_type": "Step", "action": "drop"}, 2000)]


async def test_the_worker_default_applies_to_a_type_that_does_not_say(clock: Clock) -> None:
    steps = Steps(clock)
    steps.app.configure(WorkerSettings(health_port=None, on_expired="drop"))
    async for worker in run(steps, clock):
        worker.send(Step(n=1), key=KEY, expires=10)
        clock.now += 30

        await worker.run_until_idle()

        assert (steps.ran, worker.dead_letters, worker.committed) == ([], [], {0: 1})


def test_a_replayed_expired_job_leaves_its_expiry_behind() -> None:
    raw = ((EXPIRES_AT, b"1800000000000"), ("keel-job-id", b"j-1"), (DLT_REASON, b"expired"))
    letter = Letter("jobs.dlt", 0, 7, KEY, b"job", raw)

    headers = dict(replay_headers(letter, now_ms=1))

    assert EXPIRES_AT not in headers
    assert headers["keel-job-id"] == b"j-1"
