"""Which handler runs which job type, with that type's retry policy, time limit and circuit."""

import inspect
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import BaseModel

from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.context import Context
from keel.consumers.retry_policy import RetryPolicy
from keel.consumers.status.results import check_return, result_model, returning

AsyncHandler = Callable[[Any, Context], Coroutine[Any, Any, None]]
SyncHandler = Callable[[Any, Context], None]
Handler = AsyncHandler | SyncHandler
# What `App.handler` takes: a handler may return its job's result when the job type declares
# one (docs/status.md); it is registered wrapped, so that the engine runs a `Handler`.
ReturningHandler = Callable[[Any, Context], object]
# What becomes of a job that expired before it started (see keel.consumers.pipeline.expiry).
OnExpired = Literal["dead-letter", "drop"]


@dataclass(frozen=True, slots=True)
class Registration:
    """One job type's handler and how it is run."""

    job_type: type[BaseModel]
    handler: Handler
    is_async: bool
    policy: RetryPolicy
    timeout: float | None
    # Hold a key's later jobs once one of its jobs is dead-lettered; None: the worker's default
    # (`WorkerSettings.quarantine_keys`). See keel.consumers.pipeline.quarantine.
    quarantine: bool | None = None
    circuit: CircuitPolicy | None = None  # None: the worker's default (`WorkerSettings.circuit`)
    on_expired: OnExpired | None = None  # None: the worker's default (`on_expired`)


class Registrations:
    """One handler per job type; a second registration for a type is a mistake, refused."""

    def __init__(self) -> None:
        self._by_type: dict[type[BaseModel], Registration] = {}

    def add(
        self,
        job_type: type[BaseModel],
        handler: ReturningHandler,
        policy: RetryPolicy,
        timeout: float | None,
        *,
        quarantine: bool | None = None,
        circuit: CircuitPolicy | None = None,
        on_expired: OnExpired | None = None,
    ) -> Registration:
        if job_type in self._by_type:
            raise ValueError(f"{job_type.__name__} already has a handler")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive")
        check_return(job_type, handler)
        is_async = inspect.iscoroutinefunction(handler)
        if result_model(job_type) is not None:  # its return value is the job's result
            handler = returning(handler, is_async)
        registration = Registration(
            job_type,
            cast(Handler, handler),  # returns None: `check_return` refused any other
            is_async,
            policy,
            timeout,
            quarantine=quarantine,
            circuit=circuit,
            on_expired=on_expired,
        )
        self._by_type[job_type] = registration
        return registration

    @property
    def by_type(self) -> Mapping[type[BaseModel], Registration]:
        return self._by_type
