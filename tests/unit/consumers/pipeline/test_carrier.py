"""Carriers: attempts that never suspend share one task; one that suspends keeps its own."""

import asyncio
import contextvars
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from keel.consumers.pipeline.carrier import Carriers
from keel.consumers.signals import JobTimeout

Outcomes = dict[str, BaseException | None]


def _recorder(outcomes: Outcomes, name: str) -> Callable[[BaseException | None], None]:
    def report(error: BaseException | None) -> None:
        assert name not in outcomes, f"{name} reported twice"
        outcomes[name] = error

    return report


def _start(
    carriers: Carriers,
    outcomes: Outcomes,
    name: str,
    coroutine: Coroutine[Any, Any, None],
    time_limit: float | None = None,
) -> None:
    carriers.start(coroutine, contextvars.copy_context(), _recorder(outcomes, name), time_limit)


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


def _counting_tasks(loop: asyncio.AbstractEventLoop) -> list[object]:
    created: list[object] = []

    def factory(
        loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> "asyncio.Task[Any]":
        created.append(coroutine)
        return asyncio.Task(coroutine, loop=loop, **kwargs)

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    return created


async def test_attempts_that_never_suspend_share_one_task() -> None:
    loop = asyncio.get_running_loop()
    created = _counting_tasks(loop)
    carriers, outcomes = Carriers(loop), Outcomes()
    tasks: set[asyncio.Task[Any] | None] = set()

    async def quick() -> None:
        tasks.add(asyncio.current_task())

    try:
        for n in range(100):
            _start(carriers, outcomes, f"job {n}", quick())
        await _until(lambda: len(outcomes) == 100)
    finally:
        loop.set_task_factory(None)
    assert set(outcomes.values()) == {None}
    assert len(created) == 1
    assert len(tasks) == 1
    assert None not in tasks


async def test_a_suspended_attempt_keeps_its_task_while_later_ones_run() -> None:
    loop = asyncio.get_running_loop()
    carriers, outcomes = Carriers(loop), Outcomes()
    release = asyncio.Event()
    tasks: dict[str, asyncio.Task[Any] | None] = {}

    async def slow() -> None:
        tasks["before"] = asyncio.current_task()
        await release.wait()
        tasks["after"] = asyncio.current_task()

    async def quick() -> None:
        tasks["quick"] = asyncio.current_task()

    _start(carriers, outcomes, "slow", slow())
    _start(carriers, outcomes, "quick", quick())
    await _until(lambda: "quick" in outcomes)
    assert "slow" not in outcomes
    release.set()
    await _until(lambda: "slow" in outcomes)
    assert outcomes == {"quick": None, "slow": None}
    assert tasks["before"] is tasks["after"]
    assert tasks["quick"] is not tasks["before"]


# Stuck first: it suspends in the carrier and stays in that task. Brief first: brief keeps the
# carrier, and stuck, queued behind it, starts in a task of its own.
@pytest.mark.parametrize("order", [("stuck", "brief"), ("brief", "stuck")])
async def test_a_time_limit_cancels_only_the_attempt_past_it(order: tuple[str, str]) -> None:
    loop = asyncio.get_running_loop()
    carriers, outcomes = Carriers(loop), Outcomes()

    async def stuck() -> None:
        await asyncio.sleep(60)

    async def brief() -> None:
        await asyncio.sleep(0.01)

    attempts = {"stuck": (stuck, 0.05), "brief": (brief, 5.0)}
    for name in order:
        handler, limit = attempts[name]
        _start(carriers, outcomes, name, handler(), time_limit=limit)
    await _until(lambda: len(outcomes) == 2)
    assert outcomes["brief"] is None
    assert isinstance(outcomes["stuck"], JobTimeout)
    assert not carriers.tasks


async def test_an_attempt_started_alone_reports_outside_its_own_context() -> None:
    loop = asyncio.get_running_loop()
    carriers = Carriers(loop)
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen_in_report: dict[str, str] = {}

    async def sets(name: str) -> None:
        var.set("set by " + name)
        await asyncio.sleep(0)

    def report_of(name: str) -> Callable[[BaseException | None], None]:
        def report(error: BaseException | None) -> None:
            assert error is None
            # What the engine's report starts next copies this context: it must not be the
            # last attempt's.
            seen_in_report[name] = var.get()

        return report

    for name in ("carried", "alone"):
        carriers.start(sets(name), contextvars.copy_context(), report_of(name), None)
    await _until(lambda: len(seen_in_report) == 2)
    assert seen_in_report == {"carried": "unset", "alone": "unset"}


async def test_errors_reach_the_attempt_at_its_await_and_its_report() -> None:
    loop = asyncio.get_running_loop()
    carriers, outcomes = Carriers(loop), Outcomes()
    caught: list[str] = []

    async def handles_its_error() -> None:
        failing: asyncio.Future[None] = loop.create_future()
        loop.call_later(0.01, failing.set_exception, ValueError("downstream"))
        try:
            await failing
        except ValueError as error:
            caught.append(str(error))

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    async def fails_at_once() -> None:
        raise RuntimeError("at once")

    _start(carriers, outcomes, "handles", handles_its_error())
    _start(carriers, outcomes, "later", fails_later())
    _start(carriers, outcomes, "at once", fails_at_once())
    await _until(lambda: len(outcomes) == 3)
    assert caught == ["downstream"]
    assert outcomes["handles"] is None
    assert isinstance(outcomes["later"], KeyError)
    assert isinstance(outcomes["at once"], RuntimeError)


async def test_each_attempt_runs_in_the_context_it_was_given() -> None:
    loop = asyncio.get_running_loop()
    carriers, outcomes = Carriers(loop), Outcomes()
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[tuple[str, str]] = []

    async def reads(name: str) -> None:
        seen.append((name, var.get()))
        await asyncio.sleep(0)
        seen.append((name, var.get()))
        var.set("changed by " + name)

    for name in ("a", "b"):
        scope = contextvars.copy_context()
        scope.run(var.set, f"scope of {name}")
        carriers.start(reads(name), scope, _recorder(outcomes, name), None)
    await _until(lambda: len(outcomes) == 2)
    assert sorted(seen) == [
        ("a", "scope of a"),
        ("a", "scope of a"),
        ("b", "scope of b"),
        ("b", "scope of b"),
    ]
    assert var.get() == "unset"


async def test_a_report_that_raises_does_not_stall_the_attempts_behind_it() -> None:
    loop = asyncio.get_running_loop()
    carriers, outcomes = Carriers(loop), Outcomes()
    errors: list[BaseException] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context["exception"]))

    def broken(error: BaseException | None) -> None:
        raise RuntimeError("bug in a report")

    async def quick() -> None:
        pass

    try:
        carriers.start(quick(), contextvars.copy_context(), broken, None)
        _start(carriers, outcomes, "behind", quick())
        await _until(lambda: "behind" in outcomes)
    finally:
        loop.set_exception_handler(None)
    assert outcomes == {"behind": None}


async def test_cancelling_a_suspended_attempts_task_is_reported_as_cancelled() -> None:
    loop = asyncio.get_running_loop()
    carriers, outcomes = Carriers(loop), Outcomes()
    started: list[asyncio.Task[Any]] = []

    async def waits() -> None:
        task = asyncio.current_task()
        assert task is not None
        started.append(task)
        await asyncio.sleep(60)

    _start(carriers, outcomes, "waits", waits())
    await _until(lambda: bool(started))
    started[0].cancel()
    await _until(lambda: "waits" in outcomes)
    assert isinstance(outcomes["waits"], asyncio.CancelledError)
    assert not isinstance(outcomes["waits"], JobTimeout)


@pytest.mark.parametrize("yields", [0, 3])
async def test_a_bare_yield_to_the_loop_is_passed_through(yields: int) -> None:
    loop = asyncio.get_running_loop()
    carriers, outcomes = Carriers(loop), Outcomes()

    async def polite() -> None:
        for _ in range(yields):
            await asyncio.sleep(0)  # yields None to the task: run again at the next pass

    _start(carriers, outcomes, "polite", polite())
    await _until(lambda: "polite" in outcomes)
    assert outcomes == {"polite": None}


async def test_attempts_queued_behind_one_that_suspended_all_start_in_the_next_pass() -> None:
    loop = asyncio.get_running_loop()
    carriers, outcomes = Carriers(loop), Outcomes()
    passes = [0]

    def count_passes() -> None:
        passes[0] += 1
        if len(outcomes) < 100:
            loop.call_soon(count_passes)

    started_in: list[int] = []

    async def waits() -> None:
        started_in.append(passes[0])
        await asyncio.sleep(0.01)

    loop.call_soon(count_passes)
    for n in range(100):
        _start(carriers, outcomes, f"job {n}", waits())
    await _until(lambda: len(outcomes) == 100)
    assert set(outcomes.values()) == {None}
    # The first one suspends in the carrier; the other 99 start together one pass later,
    # not one per pass behind each other.
    assert max(started_in) - min(started_in) <= 1


def _burn(seconds: float) -> None:
    """CPU work without an await, as a handler that computes would do."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def test_a_carrier_lets_the_loop_turn_while_long_attempts_keep_coming() -> None:
    # Given attempts that take 1 ms of CPU each and never suspend, where each one's end starts
    # the next, as the engine's settle starts a key's next job
    loop = asyncio.get_running_loop()
    carriers = Carriers(loop)
    total, ended = 300, [0]

    async def computes() -> None:
        _burn(0.001)

    def report(error: BaseException | None) -> None:
        assert error is None
        ended[0] += 1
        if ended[0] < total:
            carriers.start(computes(), contextvars.copy_context(), report, None)

    carriers.start(computes(), contextvars.copy_context(), report, None)
    # and something else that is due on the loop meanwhile (a poll's hand-over, a commit)
    seen_when_it_ran: list[int] = []
    loop.call_soon(lambda: seen_when_it_ran.append(ended[0]))

    await _until(lambda: ended[0] == total)

    # Then it ran between them, not after all of them
    assert seen_when_it_ran
    assert seen_when_it_ran[0] < total
