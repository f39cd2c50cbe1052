"""Drains that share one deadline: waiting for idle partitions ends at the timeout or the cut."""

import asyncio
import time

from keel.consumers.pipeline.deadline import Deadline
from keel.consumers.pipeline.drain import wait_idle
from keel.consumers.shutdown import closing_reserve, jobs_deadline


async def test_a_drain_ends_when_its_partitions_go_idle() -> None:
    idle = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, idle.set)

    assert await wait_idle([idle.wait()], 10, asyncio.Event()) is True


async def test_a_drain_ends_at_its_timeout() -> None:
    started = time.monotonic()

    assert await wait_idle([asyncio.Event().wait()], 0.05, asyncio.Event()) is False
    assert time.monotonic() - started < 5


async def test_a_cut_ends_a_drain_under_way_long_before_its_timeout() -> None:
    cut = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, cut.set)
    started = time.monotonic()

    assert await wait_idle([asyncio.Event().wait()], 60, cut) is False
    assert time.monotonic() - started < 5


def test_steps_share_one_deadline() -> None:
    deadline = Deadline(100.0)

    assert deadline.remaining(lambda: 70.0) == 30.0
    assert deadline.remaining(lambda: 130.0) == 0.0
    assert deadline.earlier(10).at == 90.0
    assert deadline.min(Deadline(95.0)).at == 95.0
    assert deadline.min(None) is deadline
    assert deadline.passed(lambda: 100.0)


def test_closing_steps_keep_a_third_of_a_short_bound_and_at_most_ten_seconds() -> None:
    assert closing_reserve(3.0) == 1.0
    assert closing_reserve(60.0) == 10.0
    assert jobs_deadline(Deadline(100.0), 60.0).at == 90.0
