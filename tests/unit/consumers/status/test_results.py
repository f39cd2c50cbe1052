"""A handler's return value: kept for a result type, refused without one."""

import asyncio
from typing import ClassVar, cast

import pytest

from keel.consumers import App, Context
from keel.consumers.status.results import RESULT_BOX, check_return, returning
from keel.schemas.job import Job


class Answer(Job):
    value: int


class Asked(Job):
    n: int

    keel_result: ClassVar[type[Job] | None] = Answer


class Plain(Job):
    n: int


CONTEXT = Context("job-1", "svc.Asked", 1, None)


def test_a_sync_handler_wrapped_puts_its_value_in_the_box() -> None:
    box: list[object] = []
    token = RESULT_BOX.set(box)
    try:
        returning(lambda job, ctx: Answer(value=job.n), is_async=False)(Asked(n=4), CONTEXT)
    finally:
        RESULT_BOX.reset(token)
    assert box == [Answer(value=4)]


def test_an_async_handler_wrapped_puts_its_value_in_the_box() -> None:
    async def handler(job: Asked, ctx: Context) -> Answer:
        return Answer(value=job.n * 2)

    async def attempt() -> list[object]:
        box: list[object] = []
        RESULT_BOX.set(box)
        await returning(handler, is_async=True)(Asked(n=4), CONTEXT)
        return box

    assert asyncio.run(attempt()) == [Answer(value=8)]


def test_without_a_box_the_value_goes_nowhere() -> None:
    assert returning(lambda job, ctx: 1, is_async=False)(Asked(n=1), CONTEXT) is None


def test_an_app_registers_a_result_types_handler_wrapped_and_others_as_they_are() -> None:
    app = App("results")

    @app.handler(Asked)
    async def asked(job: Asked, ctx: Context) -> Answer:
        return Answer(value=1)

    @app.handler(Plain)
    async def plain(job: Plain, ctx: Context) -> None:
        return None

    assert app.handlers[Asked].handler is not cast(object, asked)
    assert app.handlers[Asked].is_async
    assert app.handlers[Plain].handler is plain


def test_a_handler_that_declares_a_value_its_type_cannot_keep_is_refused() -> None:
    def returns_int(job: Plain, ctx: Context) -> int:
        return 1

    with pytest.raises(ValueError, match="declares no result model"):
        check_return(Plain, returns_int)


@pytest.mark.parametrize("declared", ["none", "unannotated", "result type"])
def test_handlers_that_return_nothing_or_a_kept_value_are_accepted(declared: str) -> None:
    def returns_none(job: Plain, ctx: Context) -> None:
        return None

    def unannotated(job, ctx):  # type: ignore[no-untyped-def]
        return None

    def returns_answer(job: Asked, ctx: Context) -> Answer:
        return Answer(value=1)

    job_type, handler = {
        "none": (Plain, returns_none),
        "unannotated": (Plain, unannotated),
        "result type": (Asked, returns_answer),
    }[declared]
    check_return(job_type, handler)
