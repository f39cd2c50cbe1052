"""Running one attempt of a handler, within its time limit, and reporting how it ended.

Async handlers run on the event loop, carried (see `carrier`): a handler that returns without
suspending needs no task of its own; one that suspends runs on in the task that started it,
which its time limit cancels. Sync handlers run in a bounded thread pool; a thread cannot be
stopped, so a sync handler past its limit is reported (logged) at once, and its attempt counts
as failed with `JobTimeout`, whatever it returns, but only once its thread has returned: until
then the attempt is still running, so the job's retry, and every later job of its key, waits
for it instead of running beside it. `done(error)` is called exactly once per attempt, on the
loop thread (None: success), never from inside `run`. `cancel` cancels the async attempts that
are suspended now and whose `done` a predicate picks (the engine's, for a lost partition); a
sync attempt cannot be cancelled, and its result is simply not used. A sync attempt may wait
in the pool's queue for a thread; `may_begin`, when set, is asked in that thread just before
its handler would begin, and a no ends the attempt with `NotStarted` (the handler never ran).

`scope`, when given, is the `contextvars.Context` the attempt runs in (else a copy of the
current one, as a new task would get; a sync handler's thread enters the scope too): the
observers set the current span and the job's log fields there (see `pipeline.observer`).
"""

import asyncio
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from typing import cast

from pydantic import BaseModel

from keel.consumers.context import Context
from keel.consumers.pipeline.carrier import Carriers
from keel.consumers.registrations import AsyncHandler, Registration, SyncHandler
from keel.consumers.signals import JobTimeout

_LOG = logging.getLogger(__name__)

Done = Callable[[BaseException | None], None]
MayBegin = Callable[[Done], bool]


class NotStarted(Exception):  # noqa: N818 - a signal to the engine, not an error
    """The attempt's handler never began: `may_begin` said no when a thread took it."""


class Execute:
    """Starts attempts; each reports back through its `done` callback."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pool: Executor) -> None:
        self._loop = loop
        self._pool = pool
        self._carriers = Carriers(loop)
        # Asked in a pool thread, with the attempt's `done`, before a sync handler begins.
        self.may_begin: MayBegin | None = None

    def run(
        self,
        registration: Registration,
        job: BaseModel,
        context: Context,
        done: Done,
        scope: contextvars.Context | None = None,
    ) -> None:
        if registration.is_async:
            # An annotation, not `typing.cast`: a cast is a function call, and this runs per job.
            handler: AsyncHandler = registration.handler  # type: ignore[assignment]
            self._carriers.start(
                handler(job, context),
                contextvars.copy_context() if scope is None else scope,
                done,
                registration.timeout,
            )
        else:
            _SyncAttempt(
                self._loop,
                self._pool,
                registration,
                (job, context),
                done,
                scope=scope,
                may_begin=self.may_begin,
            )

    def cancel(self, which: Callable[[Done], bool]) -> int:
        """Cancel the suspended async attempts whose `done` `which` picks; how many it did."""
        return self._carriers.cancel(which)


def _begin_if(
    may_begin: MayBegin, done: Done, handler: SyncHandler, job: BaseModel, context: Context
) -> None:
    if not may_begin(done):
        raise NotStarted
    handler(job, context)


class _SyncAttempt:
    __slots__ = ("_context", "_done", "_overran", "_timer")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pool: Executor,
        registration: Registration,
        arguments: tuple[BaseModel, Context],
        done: Done,
        *,
        scope: contextvars.Context | None,
        may_begin: MayBegin | None = None,
    ) -> None:
        self._done = done
        self._context = arguments[1]
        self._overran: float | None = None  # the limit it went past, once it has
        handler = cast(SyncHandler, registration.handler)
        if may_begin is not None:
            handler = partial(_begin_if, may_begin, done, handler)
        if scope is None:
            future = loop.run_in_executor(pool, handler, *arguments)
        else:
            future = loop.run_in_executor(pool, scope.run, handler, *arguments)
        self._timer = (
            None
            if registration.timeout is None
            else loop.call_later(registration.timeout, self._expire, registration.timeout)
        )
        future.add_done_callback(self._finished)

    def _expire(self, limit: float) -> None:
        self._overran = limit
        _LOG.error(
            "sync handler for job %s overran its %ss limit; its key waits for its thread",
            self._context.job_id,
            limit,
            extra=self._context.log_fields(),
        )

    def _finished(self, future: "asyncio.Future[None]") -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._overran is not None:
            self._done(JobTimeout(f"sync handler overran its {self._overran}s limit"))
        else:
            self._done(asyncio.CancelledError() if future.cancelled() else future.exception())
