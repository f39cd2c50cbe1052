"""A handler's return value, kept for its job's `done` status when the type declares a result.

The engine ignores what a handler returns. For a job type with a result model
(`keel_result`), `App.handler` registers the handler wrapped by `returning`: the wrapper hands
the value to the attempt's result box, which the status recorder set in the attempt's own
context (`pipeline.observer`, `attempt_scope`) and reads when the attempt ends. A handler of a
type without a result model that declares a return type other than None is refused at
registration (`check_return`): its value would be dropped without a word.
"""

import inspect
import typing
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel

from keel.consumers.context import Context
from keel.schemas.job import Job

# The current attempt's result box: set by the recorder, filled by a wrapped handler.
RESULT_BOX: ContextVar[list[object] | None] = ContextVar("keel_result_box", default=None)
AsyncHandler = typing.Callable[[Any, Context], Coroutine[Any, Any, object]]
SyncHandler = typing.Callable[[Any, Context], object]


def result_model(job_type: type[BaseModel]) -> type[Job] | None:
    """The result model a job type declares, or None."""
    return job_type.keel_result if issubclass(job_type, Job) else None


def returning(handler: Any, is_async: bool) -> Any:  # noqa: ANN401 - a handler of either kind
    """`handler`, wrapped to put what it returns in the attempt's result box."""
    if is_async:

        async def kept_async(job: Any, context: Context) -> None:  # noqa: ANN401
            _keep(await handler(job, context))

        return kept_async

    def kept(job: Any, context: Context) -> None:  # noqa: ANN401
        _keep(handler(job, context))

    return kept


def check_return(job_type: type[BaseModel], handler: object) -> None:
    """Refuse a handler that declares a return value its job type has no result model for."""
    if result_model(job_type) is not None or not callable(handler):
        return
    try:
        declared = typing.get_type_hints(handler).get("return", inspect.Signature.empty)
    except (NameError, TypeError):  # a hint that cannot be resolved here: nothing to go by
        return
    if declared in {inspect.Signature.empty, None, type(None), typing.NoReturn, typing.Any}:
        return
    if typing.get_origin(declared) is Coroutine:  # an async def's hint as written
        return
    raise ValueError(
        f"the handler of {job_type.__name__} returns {declared!r}, but {job_type.__name__} "
        "declares no result model: set keel_result on it (docs/status.md), or return None"
    )


def _keep(value: object) -> None:
    box = RESULT_BOX.get()
    if box is not None:
        box.append(value)
