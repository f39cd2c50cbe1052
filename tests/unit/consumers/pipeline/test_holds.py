"""`Holds` on its own: how the engine's success counts reach the window, and who probes."""

import asyncio
import gc
import weakref
from dataclasses import dataclass

from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.pipeline.circuit import CLOSED, HALF_OPEN, OPEN
from keel.consumers.pipeline.holds import Holds
from keel.consumers.pipeline.offsets import PartitionOffsets
from keel.consumers.pipeline.partition import PartitionState, RecordState
from keel.consumers.retry_policy import RetryAfter
from tests.support.waiting import until

JOB_TYPE = "keel.jobs.Charge"
RETRY = RetryAfter(0.0)
# A 0.5 s window: the tick hands successes over every 50 ms.
POLICY = CircuitPolicy(window=0.5, min_attempts=10, min_jobs=3, probe_interval=0.05)


@dataclass
class FakeMessage:
    at: int

    def key(self) -> bytes:
        return f"k{self.at}".encode()

    def offset(self) -> int:
        return self.at


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def records(count: int) -> list[RecordState]:
    part = PartitionState(("jobs", 0), PartitionOffsets(0))
    made = [RecordState(FakeMessage(n), part, n) for n in range(count)]  # type: ignore[arg-type]
    for record in made:
        record.job_type = JOB_TYPE
    return made


async def test_the_tick_counts_successes_when_they_happen_so_old_ones_leave_the_window() -> None:
    # Given 100 successes long ago (handed over by a tick at the time they happened)
    clock = Clock()
    holds = Holds(
        {JOB_TYPE: POLICY}, loop=asyncio.get_running_loop(), release=lambda r: True, clock=clock
    )
    holds.ok[JOB_TYPE] += 100
    await until(lambda: not holds.ok, 5, "a tick")
    # When, a window later, ten jobs fail
    clock.now = 0.6
    held = [holds.failed(record, RETRY) for record in records(10)]
    # Then the old successes no longer hide the outage: the tenth failure opens the circuit
    assert held == [False] * 9 + [True]
    assert holds.readings()[JOB_TYPE].state == OPEN


async def test_successes_not_yet_ticked_count_before_a_failure_is_weighed() -> None:
    clock = Clock()
    holds = Holds(
        {JOB_TYPE: POLICY}, loop=asyncio.get_running_loop(), release=lambda r: True, clock=clock
    )
    holds.ok[JOB_TYPE] += 100  # no tick has passed yet
    assert [holds.failed(record, RETRY) for record in records(10)] == [False] * 10
    assert holds.readings()[JOB_TYPE].state == CLOSED


async def test_a_failed_probe_goes_to_the_back_and_the_next_held_job_probes() -> None:
    released: list[int] = []
    holds: Holds

    def release(record: RecordState) -> bool:  # what the engine does: try to start it
        released.append(record.message.offset())  # type: ignore[arg-type]
        assert holds.admits(record)
        return True

    holds = Holds({JOB_TYPE: POLICY}, loop=asyncio.get_running_loop(), release=release)
    jobs = records(10)
    assert [holds.failed(record, RETRY) for record in jobs] == [False] * 9 + [True]
    for record in jobs:  # the tenth failure opened it; the retries of the others are held too
        holds.hold(record)
    assert not holds.admits(jobs[0])  # open: nothing starts
    await until(lambda: len(released) == 1, 5, "the first probe")
    assert holds.readings()[JOB_TYPE].state == HALF_OPEN
    first = jobs[released[0]]
    assert holds.failed(first, RETRY)  # the probe failed: held again, at the back
    holds.hold(first)
    await until(lambda: len(released) == 2, 5, "the second probe")
    assert released[1] != released[0]
    holds.succeeded(jobs[released[1]])  # the second probe succeeds: all held jobs go
    assert holds.readings()[JOB_TYPE].state == CLOSED
    assert sorted(released[2:]) == sorted(set(range(10)) - {released[1]})


async def test_the_tick_does_not_keep_unused_holds_alive() -> None:
    holds = Holds({JOB_TYPE: POLICY}, loop=asyncio.get_running_loop(), release=lambda r: True)
    gone = weakref.ref(holds)
    del holds
    gc.collect()
    await asyncio.sleep(0.06)  # a tick comes due, finds nothing, and stops
    assert gone() is None
