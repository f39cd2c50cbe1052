"""`/dead-letters`: the list with its filters, one record, and replay with a confirmation.

GET  /dead-letters                               the list (filters and `page=` as query)
GET  /dead-letters/{topic}/{partition}/{offset}  one record: headers and decoded body
POST /dead-letters/replay                        how many the filters would replay (operator)
POST /dead-letters/replay/confirm                replay them, paced, audited (operator)
GET  /api/dead-letters                           the list as JSON
"""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from pydantic import BaseModel

from keel.consumers.console import letters, replays
from keel.consumers.console.auth import Principal, operator, reader
from keel.consumers.console.filters import parse
from keel.consumers.console.settings import ConsoleSettings
from keel.consumers.dead_letters.api import summary
from keel.consumers.dead_letters.reader import read_letter
from keel.consumers.dead_letters.replay import dead_letter_name
from keel.schemas.settings import ClusterSettings

router = APIRouter()
Viewer = Annotated[Principal, Depends(reader)]
Operator = Annotated[Principal, Depends(operator)]
PageNumber = Annotated[int, Query(ge=0, description="From 0.")]


class FilterForm(BaseModel):
    """The list's filters, posted again by the replay and confirmation forms."""

    topic: str = ""
    job_type: str = ""
    error: str = ""
    since: str = ""
    until: str = ""
    key: str = ""


Filters = Annotated[FilterForm, Form()]


def _render(request: Request, page: str, principal: Principal, **context: object) -> Response:
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, page, {"principal": principal, **context}
    )


def _config(request: Request) -> tuple[ClusterSettings, ConsoleSettings]:
    return request.app.state.cluster, request.app.state.settings


@router.get("/dead-letters")
def dead_letter_list(request: Request, principal: Viewer, page: PageNumber = 0) -> Response:
    cluster, settings = _config(request)
    query = parse(request.query_params)
    found = letters.page(cluster, query, page, settings.page_size, settings.timeout_s)
    topics = letters.dead_letter_topics(cluster, settings.timeout_s)
    return _render(
        request,
        "dead_letters.html",
        principal,
        query=query,
        filters=query.params(),
        found=found,
        rows=[listed.summary() for listed in found.letters],
        topics=topics,
        pages=None if found.total is None else max(-(-found.total // settings.page_size), 1),
        pager=lambda number: urlencode({**query.params(), "page": number}),
    )


@router.get("/api/dead-letters")
def dead_letter_json(
    request: Request, _principal: Viewer, page: PageNumber = 0
) -> dict[str, object]:
    cluster, settings = _config(request)
    found = letters.page(
        cluster, parse(request.query_params), page, settings.page_size, settings.timeout_s
    )
    rows = [listed.summary() for listed in found.letters]
    return {"page": page, "has_next": found.has_next, "total": found.total, "letters": rows}


@router.get("/dead-letters/{topic}/{partition}/{offset}")
def dead_letter(
    request: Request, principal: Viewer, topic: str, partition: int, offset: int
) -> Response:
    cluster, settings = _config(request)
    letter = read_letter(
        cluster, dead_letter_name(topic), partition, offset, timeout=settings.timeout_s
    )
    if letter is None:
        raise HTTPException(404, f"no record at {topic}/{partition}/{offset}")
    body = request.app.state.bodies.read(letter.value)
    key = None if letter.key is None else letter.key.decode("utf-8", "backslashreplace")
    return _render(
        request,
        "dead_letter.html",
        principal,
        letter=letter,
        about=summary(letter),
        key=key,
        headers=sorted(letter.headers.items()),
        body=body,
    )


@router.post("/dead-letters/replay")
def replay_count(
    request: Request,
    principal: Operator,
    form: Filters,
) -> Response:
    cluster, settings = _config(request)
    query = parse(form.model_dump())
    counted = replays.count(cluster, query, settings.timeout_s)
    return _render(
        request,
        "replay_confirm.html",
        principal,
        filters=query.params(),
        counted=counted,
        rate=settings.replay_rate,
    )


@router.post("/dead-letters/replay/confirm")
def replay_confirmed(
    request: Request,
    principal: Operator,
    form: Filters,
) -> Response:
    cluster, settings = _config(request)
    query = parse(form.model_dump())
    done = replays.replay(
        cluster, query, settings.timeout_s, rate=settings.replay_rate, actor=principal.name
    )
    return _render(request, "replay_result.html", principal, filters=query.params(), done=done)
