"""Async attempts started one after another inside a shared task, until one of them suspends.

A task per attempt cost a no-op job about 2.5 µs on Python 3.11 even when its first step ran at
once: creating the task, registering it in asyncio's weak set of all tasks, entering and leaving
it, and its done callback. Most attempts of a busy worker either return without ever
suspending, or suspend on I/O for a while. So attempts are *carried*: a carrier is a real
`asyncio.Task` that takes the queued attempts in turn and runs each one's first step itself,
each in the attempt's own `contextvars.Context`. An attempt that returns or raises there has
cost no task at all. A carrier takes attempts for at most `TURN_AFTER` before it lets the loop
turn, as a loop pass of ordinary tasks would.

An attempt that suspends keeps the carrier: from then on that task is the attempt's task, and
it carries nothing else. The attempts queued behind it are then each started in a task of their
own, all in the loop's next pass: where one attempt suspended, the next ones probably will too,
and handing the queue on to one carrier after another would start one of them per pass (an io50
replay lost 8% to that). Either way an attempt runs in one task from its first line to its end,
and `asyncio.current_task()`, `asyncio.timeout()`, task groups and cancellation behave as they
do in a task started the ordinary way: a timeout entered before the first `await` is bound to
the task that goes on running the attempt. What attempts that never suspended share is only
that task's identity, one after another. An attempt started in a task of its own runs in its
context from the start (`create_task(context=...)`), so asyncio steps it there directly.

Every attempt reports how it ended exactly once, through its `report` callback, on the loop:
None for success, else the exception (a `CancelledError` if it was cancelled, or
`JobTimeout` when its time limit cancelled it). While an attempt runs in a task, suspended
or about to be, its task is known by its `report` (`Carriers.tasks`), so that `cancel` can
reach it.
"""

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from time import perf_counter
from typing import Any

from keel.consumers.signals import JobTimeout

# A carrier that has run attempts for this long lets the loop turn before it takes more: an
# attempt's end starts its key's next job, so with a backlog of handlers that compute without
# awaiting, the queue never empties, and the loop would run nothing else (no poll hand-over, no
# commit, no health answer, no timer) until it did. A worker's loop went over 2 s at a time in
# one carrier with 1 ms handlers, long enough to suspect itself frozen (see `ownership`).
TURN_AFTER = 0.02

Report = Callable[[BaseException | None], None]
_Attempt = tuple[Coroutine[Any, Any, None], contextvars.Context, Report, float | None]
_Tasks = dict[Report, "asyncio.Task[None]"]


class Carriers:
    """Starts async attempts in carrier tasks; at most one carrier takes new attempts at a time."""

    __slots__ = ("_loop", "_outside", "_queue", "_taking", "tasks")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # Where an attempt started alone reports: outside its own context, as a carried one
        # does, so the key's next job does not start in a copy of the last one's context.
        self._outside = contextvars.copy_context()
        self._queue: deque[_Attempt] = deque()
        self._taking = False  # a carrier is scheduled or running that will take the queue
        self.tasks: _Tasks = {}  # of the attempts that run in a task, by `report`, until they end

    def cancel(self, which: Callable[[Report], bool]) -> int:
        """Cancel the suspended attempts whose `report` `which` picks; how many."""
        picked = [task for report, task in self.tasks.items() if which(report)]
        for task in picked:
            task.cancel()
        return len(picked)

    def start(
        self,
        coroutine: Coroutine[Any, Any, None],
        context: contextvars.Context,
        report: Report,
        time_limit: float | None,
    ) -> None:
        """Queue `coroutine` to run in `context`; `report` tells how it ended."""
        self._queue.append((coroutine, context, report, time_limit))
        if not self._taking:
            self._taking = True
            self._loop.create_task(self._carry(), name="keel-carrier")

    async def _carry(self) -> None:
        queue = self._queue
        suspended: tuple[_Attempt, object] | None = None
        turn = perf_counter() + TURN_AFTER
        try:
            while queue:
                attempt = queue.popleft()
                waiting_on = _first_step(attempt)
                if waiting_on is not _DONE:
                    suspended = (attempt, waiting_on)
                    break
                if perf_counter() > turn:
                    break  # the loop turns; a new carrier goes on with the queue after it
        finally:
            self._taking = False
            if suspended is not None:
                # One attempt suspended, so the next ones probably will: they start in the next
                # pass, each in a task of its own, rather than one carrier later per pass.
                while queue:
                    coroutine, context, report, limit = queue.popleft()
                    self._loop.create_task(
                        _alone(coroutine, report, limit, self.tasks, self._outside),
                        name="keel-attempt",
                        context=context,
                    )
            elif queue:  # past its turn, or a report failed: a new carrier takes the queue
                self._taking = True
                self._loop.create_task(self._carry(), name="keel-carrier")
        if suspended is not None:
            # this task is the suspended attempt's task now
            await _finish(*suspended, self.tasks)


def _first_step(attempt: _Attempt) -> object:
    """Run the attempt until it first suspends: what it waits on, or `_DONE` (reported)."""
    coroutine, context, report, _ = attempt
    try:
        return context.run(coroutine.send, None)
    except StopIteration:
        report(None)
    except BaseException as error:
        report(error)
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
    return _DONE


async def _alone(
    coroutine: Coroutine[Any, Any, None],
    report: Report,
    time_limit: float | None,
    tasks: "_Tasks",
    outside: contextvars.Context,
) -> None:
    """An attempt in a task of its own, from its first step to its end.

    The task runs in the attempt's context (`create_task(context=...)`), so asyncio itself
    steps the coroutine there: no `_Rest` in between, which cost a suspending attempt about
    4 µs (a third of it) in two more frames and a `Context.run` per step.
    """
    task = asyncio.current_task()
    assert task is not None  # noqa: S101 - only ever run as a task
    limit = None if time_limit is None else _Limit(task, time_limit)
    tasks[report] = task
    try:
        await coroutine
    except asyncio.CancelledError as error:
        expired = limit is not None and limit.expired
        outside.run(report, JobTimeout("time limit exceeded") if expired else error)
    except BaseException as error:
        outside.run(report, error)
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
    else:
        outside.run(report, None)
    finally:
        if limit is not None:
            limit.cancel()
        tasks.pop(report, None)


async def _finish(attempt: _Attempt, waiting_on: object, tasks: "_Tasks") -> None:
    """Run a suspended attempt to its end in the current task, within its time limit."""
    coroutine, context, report, time_limit = attempt
    task = asyncio.current_task()
    assert task is not None  # noqa: S101 - only ever awaited in a carrier or `_alone` task
    limit = _Limit(task, time_limit)
    tasks[report] = task
    try:
        await _Rest(coroutine, context, waiting_on)
    except asyncio.CancelledError as error:
        report(JobTimeout("time limit exceeded") if limit.expired else error)
    except BaseException as error:
        report(error)
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
    else:
        report(None)
    finally:
        limit.cancel()
        tasks.pop(report, None)


class _Limit:
    """Cancels the attempt's task once its time limit has passed since it first suspended."""

    __slots__ = ("_timer", "expired")

    def __init__(self, task: "asyncio.Task[None]", seconds: float | None) -> None:
        self.expired = False
        self._timer = (
            None if seconds is None else task.get_loop().call_later(seconds, self._expire, task)
        )

    def _expire(self, task: "asyncio.Task[None]") -> None:
        self.expired = True
        task.cancel()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class _Rest:
    """The rest of a started coroutine, awaited in its own context.

    The task passes what it sends and throws (a future's wake-up, a cancellation) through to
    the coroutine, and the coroutine's yields (the futures it waits on) back to the task:
    what `await coroutine` would do, except that each step runs in the attempt's context
    rather than the task's.
    """

    __slots__ = ("_context", "_coroutine", "_waiting_on")

    def __init__(
        self,
        coroutine: Coroutine[Any, Any, None],
        context: contextvars.Context,
        waiting_on: object,
    ) -> None:
        self._coroutine = coroutine
        self._context = context
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, run = self._coroutine, self._context.run
        waiting_on = self._waiting_on
        while True:
            try:
                sent = yield waiting_on
            except BaseException as thrown:
                step = run(_throw, coroutine, thrown)
            else:
                step = run(_send, coroutine, sent)
            if step is _DONE:
                return
            waiting_on = step


_DONE = object()


def _send(coroutine: Coroutine[Any, Any, None], value: object) -> object:
    try:
        return coroutine.send(value)
    except StopIteration:
        return _DONE


def _throw(coroutine: Coroutine[Any, Any, None], error: BaseException) -> object:
    try:
        return coroutine.throw(error)
    except StopIteration:
        return _DONE
