"""Tasks whose first step runs at once, as Python 3.12's eager tasks do.

Most handlers of a busy worker either return without ever suspending or suspend once on I/O.
A plain `create_task` costs a scheduled step, a pass of the loop and a scheduled done callback
for every job, which is most of the framework's time per no-op job. An eager task runs the
coroutine's first step inside `start_task`: a handler that returns without suspending is done
when `start_task` returns, and nothing was scheduled for it.

It is still a real `asyncio.Task`, entered as the current task while it runs, with its own copy
of the context, so `asyncio.current_task()`, `asyncio.timeout()`, task groups and cancellation
behave exactly as in a task started the ordinary way.

Python 3.12 has this built in (`eager_start=True`). On 3.11 the task is created while the
loop's `call_soon` is shadowed for that one call, so that the task's first step is handed to us
instead of the loop's ready queue, and we run it in place. A loop that does not allow that
(one without an instance `__dict__`, such as uvloop's) gets ordinary tasks.
"""

import asyncio
import sys
from collections.abc import Callable, Coroutine
from contextvars import Context
from typing import Any, Protocol

Step = Callable[[], object]


class StartTask(Protocol):
    """Starts `coroutine` as a task running in `context` (None: a copy of the current one)."""

    def __call__(
        self, coroutine: Coroutine[Any, Any, None], context: Context | None = None
    ) -> "asyncio.Task[None]": ...


def task_starter(loop: asyncio.AbstractEventLoop) -> StartTask:
    """The best way this Python and this loop offer to start a task eagerly."""
    if sys.version_info >= (3, 12):

        def eager(
            coroutine: Coroutine[Any, Any, None], context: Context | None = None
        ) -> "asyncio.Task[None]":
            return asyncio.Task(coroutine, loop=loop, eager_start=True, context=context)

        return eager
    if not _can_shadow(loop):

        def scheduled(
            coroutine: Coroutine[Any, Any, None], context: Context | None = None
        ) -> "asyncio.Task[None]":
            return loop.create_task(coroutine, context=context)

        return scheduled
    return _Eager311(loop)


class _Eager311:
    """3.11: create the task with its first step captured, then run that step here."""

    __slots__ = ("_context", "_loop", "_step")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._step: Step | None = None
        self._context: Context | None = None

    def __call__(
        self, coroutine: Coroutine[Any, Any, None], context: Context | None = None
    ) -> "asyncio.Task[None]":
        loop = self._loop
        loop.call_soon = self._capture  # type: ignore[method-assign, assignment]
        try:
            task = asyncio.Task(coroutine, loop=loop, context=context)
        finally:
            del loop.call_soon
        step, context = self._step, self._context
        self._step = self._context = None
        if step is not None and context is not None:
            _run_step(loop, step, context)
        return task  # if nothing was captured, the task was scheduled the ordinary way

    def _capture(
        self, callback: Callable[..., object], *args: object, context: Context | None = None
    ) -> object:
        if args or context is None or self._step is not None:
            # Not the one step of a new task: let the loop schedule it as usual.
            return type(self._loop).call_soon(self._loop, callback, *args, context=context)
        self._step, self._context = callback, context
        return None


def _run_step(loop: asyncio.AbstractEventLoop, step: Step, context: Context) -> None:
    # A task can only be entered while no other task is current; the engine may be called
    # from inside one (the in-memory test worker is), so that one steps aside meanwhile.
    outer = asyncio.current_task(loop)
    if outer is not None:
        asyncio.tasks._leave_task(loop, outer)
    try:
        context.run(step)
    finally:
        if outer is not None:
            asyncio.tasks._enter_task(loop, outer)


def _can_shadow(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        loop.call_soon = loop.call_soon  # type: ignore[method-assign]
    except AttributeError:
        return False
    del loop.call_soon
    return True
