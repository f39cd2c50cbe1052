"""The circuit in the engine, run in memory: an outage holds a type's jobs, poison does not."""

import asyncio
import itertools
import logging

import pytest

from keel.consumers import App, CircuitPolicy, Context, Retry, RetryPolicy
from keel.consumers.pipeline.circuit import CLOSED, HALF_OPEN, OPEN
from keel.consumers.registrations import Handler
from keel.consumers.testing import InMemoryWorker
from keel.schemas.job import Job
from tests.support.jobs import catalog_of
from tests.support.waiting import until


class Charge(Job):
    key: str
    n: int


class Mail(Job):
    n: int


CATALOG = catalog_of(Charge, Mail)
CHARGE = CATALOG.of(Charge).name
MAIL = CATALOG.of(Mail).name
# Opens after 10 failed attempts of 3 jobs; probes every 50 ms at first.
FAST = CircuitPolicy(min_attempts=10, min_jobs=3, probe_interval=0.05, probe_interval_max=0.2)
KEYS = 10
PER_KEY = 3


def make_app(charge: Handler, circuit: CircuitPolicy = FAST) -> App:
    app = App("test", catalog=CATALOG, retry=RetryPolicy(max_attempts=3))

    @app.handler(Mail)
    async def mail(job: Mail, ctx: Context) -> None:
        pass

    app.handler(Charge, circuit=circuit)(charge)
    return app


class Downstream:
    """A payment gateway that is down until told otherwise; records every call."""

    def __init__(self) -> None:
        self.down = True
        self.calls: list[tuple[str, int, int]] = []  # (key, n, attempt)
        self.done: list[tuple[str, int]] = []

    async def charge(self, job: Charge, ctx: Context) -> None:
        self.calls.append((job.key, job.n, ctx.attempt))
        await asyncio.sleep(0)
        if self.down:
            raise ConnectionError("gateway down")
        self.done.append((job.key, job.n))


def worker_with(app: App) -> InMemoryWorker:
    worker = InMemoryWorker(app)
    for n in range(PER_KEY):
        for k in range(KEYS):
            worker.send(Charge(key=f"k{k}", n=n), key=f"k{k}".encode())
    return worker


async def test_an_outage_holds_the_type_with_attempts_intact_and_runs_it_all_after(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="keel.consumers.pipeline.holds")
    # Given a gateway that is down, and jobs of 10 keys waiting for it
    downstream = Downstream()
    worker = worker_with(make_app(downstream.charge))
    run = asyncio.ensure_future(worker.run_until_idle(timeout=10))
    # When the type's failures open its circuit
    await until(lambda: worker.circuits[CHARGE].state != CLOSED, 5, "the circuit to open")
    await until(lambda: worker.circuits[CHARGE].held == KEYS, 5, "every key's head to be held")
    # then other types still run meanwhile,
    worker.send(Mail(n=1), key=b"m")
    await until(lambda: worker.circuits[CHARGE].transitions.get(OPEN, 0) >= 3, 5, "probes")
    assert not run.done()
    assert worker.committed == {0: 0}  # nothing of the held jobs counts as finished
    # and once the gateway is back, a probe closes the circuit and every job runs
    downstream.down = False
    await run
    await worker.close()
    # Then nothing was dead-lettered, every job ran once to success, in order per key
    assert worker.dead_letters == []
    assert sorted(downstream.done) == sorted((f"k{k}", n) for k in range(KEYS) for n in range(3))
    for k in range(KEYS):
        assert [n for key, n in downstream.done if key == f"k{k}"] == list(range(PER_KEY))
    # no job ever got past its first retry: failures while the circuit was open cost nothing
    assert max(attempt for _key, _n, attempt in downstream.calls) <= 2
    assert worker.committed == {0: KEYS * PER_KEY + 1}
    reading = worker.circuits[CHARGE]
    assert reading.state == CLOSED
    assert reading.held == 0
    assert reading.transitions[CLOSED] == 1
    assert reading.transitions[HALF_OPEN] == reading.transitions[OPEN]
    assert worker.circuits[MAIL].transitions == {}
    # and each transition was told in one log line, naming the job type and the new state
    lines = [r for r in caplog.records if r.name == "keel.consumers.pipeline.holds"]
    assert len(lines) == sum(reading.transitions.values())
    assert [getattr(r, "circuit", None) for r in lines][:2] == [OPEN, HALF_OPEN]
    assert all(getattr(r, "job_type", None) == CHARGE for r in lines)
    assert lines[-1].getMessage() == f"circuit of {CHARGE} closed: the probe succeeded"


async def test_one_poison_job_among_good_ones_is_dead_lettered_and_the_circuit_stays_closed() -> (
    None
):
    downstream = Downstream()
    downstream.down = False

    async def charge(job: Charge, ctx: Context) -> None:
        if job.key == "k3" and job.n == 0:
            raise Retry(reason="card issuer says try later")
        await downstream.charge(job, ctx)

    worker = worker_with(make_app(charge))
    await worker.run_until_idle()
    await worker.close()
    [letter] = worker.dead_letters
    assert letter.key == b"k3"
    assert letter.headers["keel-dlt-reason"] == "retries-exhausted"
    assert letter.headers["keel-dlt-attempts"] == "3"
    assert len(downstream.done) == KEYS * PER_KEY - 1
    assert worker.circuits[CHARGE].state == CLOSED
    assert worker.circuits[CHARGE].transitions == {}


async def test_the_circuit_turned_off_dead_letters_an_outage_as_before() -> None:
    downstream = Downstream()
    worker = worker_with(make_app(downstream.charge, CircuitPolicy(enabled=False)))
    await worker.run_until_idle()
    await worker.close()
    assert len(worker.dead_letters) == KEYS * PER_KEY
    assert len(downstream.calls) == KEYS * PER_KEY * 3
    assert CHARGE not in worker.circuits


async def test_held_jobs_fill_the_buffer_and_flow_control_pauses_the_partition() -> None:
    downstream = Downstream()
    worker = InMemoryWorker(make_app(downstream.charge), max_running=4)  # a partition's share: 8
    for n in range(40):
        worker.send(Charge(key=f"k{n}", n=n), key=f"k{n}".encode())
    run = asyncio.ensure_future(worker.run_until_idle(timeout=10))
    await until(lambda: worker.circuits[CHARGE].transitions.get(OPEN, 0) >= 3, 5, "probes")
    # the held jobs still fill the partition's share: it stays paused while the circuit is open
    assert worker.paused
    assert worker.circuits[CHARGE].held == 40
    downstream.down = False
    await run
    await worker.close()
    assert len(downstream.done) == 40
    assert worker.dead_letters == []


async def test_a_revoke_drops_the_held_jobs_of_its_partition() -> None:
    downstream = Downstream()
    worker = worker_with(make_app(downstream.charge))
    run = asyncio.ensure_future(worker.run_until_idle(timeout=10))
    await until(lambda: worker.circuits[CHARGE].held == KEYS, 5, "every key's head to be held")
    engine = worker._ensure_engine()
    positions = await engine.revoke([("jobs", 0)], timeout=1.0)
    # nothing finished: the commit stays at the first held job, the next owner runs them all
    assert positions[("jobs", 0)].offset == 0
    assert engine.buffered == 0
    assert worker.circuits[CHARGE].held == 0
    await run  # nothing left buffered: idle
    await worker.close()
    assert worker.dead_letters == []


@pytest.mark.parametrize("signal", ["exception", "retry"])
async def test_a_failing_probe_keeps_it_open_with_growing_waits(signal: str) -> None:
    calls: list[float] = []
    policy = CircuitPolicy(min_attempts=10, min_jobs=3, probe_interval=0.05, probe_interval_max=0.4)
    loop = asyncio.get_running_loop()

    async def charge(job: Charge, ctx: Context) -> None:
        calls.append(loop.time())
        if signal == "retry":
            raise Retry()
        raise TimeoutError("gateway timed out")

    worker = worker_with(make_app(charge, policy))
    run = asyncio.ensure_future(worker.run_until_idle(timeout=30))
    await until(lambda: worker.circuits[CHARGE].transitions.get(OPEN, 0) >= 5, 10, "4 probes")
    probes = calls[-4:]
    gaps = [later - earlier for earlier, later in itertools.pairwise(probes)]
    assert gaps[0] >= 0.1 * 0.9  # the wait doubled after a failed probe: 0.1, 0.2, 0.4
    assert gaps[-1] >= 0.4 * 0.9
    assert worker.dead_letters == []
    await worker.close()  # drops the held jobs: nothing is left buffered
    await run


async def test_failures_below_the_share_leave_it_closed_for_successes_count_too() -> None:
    # Given 100 jobs of 100 keys, a third of which fail once, then succeed on their retry
    attempts: list[int] = []

    async def flaky(job: Charge, ctx: Context) -> None:
        attempts.append(ctx.attempt)
        if job.n % 3 == 0 and ctx.attempt == 1:
            raise ConnectionError("one dropped connection")

    worker = InMemoryWorker(make_app(flaky))
    for n in range(100):
        worker.send(Charge(key=f"k{n}", n=n), key=f"k{n}".encode())
    await worker.run_until_idle()
    await worker.close()
    # Then 34 failures among 134 attempts (25%) never open the circuit
    assert (attempts.count(1), attempts.count(2)) == (100, 34)
    assert worker.circuits[CHARGE].transitions == {}
    assert worker.dead_letters == []


async def test_the_in_memory_worker_takes_a_default_circuit_for_every_type() -> None:
    downstream = Downstream()
    app = App("test", catalog=CATALOG, retry=RetryPolicy(max_attempts=2))
    app.handler(Charge)(downstream.charge)  # no circuit of its own: the worker's default
    worker = InMemoryWorker(app, circuit=CircuitPolicy(enabled=False))
    for n in range(30):
        worker.send(Charge(key=f"k{n}", n=n), key=f"k{n}".encode())
    await worker.run_until_idle()
    await worker.close()
    assert len(worker.dead_letters) == 30
    assert worker.circuits == {}
